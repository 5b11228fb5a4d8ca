// Asks the kernel to back a range of the WebAssembly memory with transparent huge pages
// (madvise MADV_HUGEPAGE), so that the engine's random reads and writes over gigabytes of columns
// each miss the TLB far less often (docs/architecture.md, Huge pages). Node has no call for it; this is
// the whole addon. Linux only; where the kernel has no transparent huge pages, madvise says so and
// the engine runs as before.
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

// A call's arguments: up to three, the first a Uint8Array whose bytes are at `data`, `length` long.
typedef struct {
  napi_value argv[3];
  void *data;
  size_t length;
} ViewArgs;

// Reads a call's `count` arguments into *args. Returns false, with a TypeError thrown, when they are
// not `count` (`arity`) or the first is not a Uint8Array (`notView`).
static bool viewArgs(napi_env env, napi_callback_info info, size_t count, ViewArgs *args, const char *arity, const char *notView) {
  size_t argc = count;
  args->data = NULL;
  args->length = 0;
  if (napi_get_cb_info(env, info, &argc, args->argv, NULL, NULL) != napi_ok || argc != count) {
    fail(env, arity);
    return false;
  }
  bool typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, args->argv[0], &typed) != napi_ok || !typed || napi_get_typedarray_info(env, args->argv[0], &type, &args->length, &args->data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    fail(env, notView);
    return false;
  }
  return true;
}

// advise(view: Uint8Array, from: number, to: number): number — madvise(MADV_HUGEPAGE) over the
// whole pages of bytes [from, to) of the view's memory; 0, or the errno madvise gave.
static napi_value advise(napi_env env, napi_callback_info info) {
  ViewArgs a;
  if (!viewArgs(env, info, 3, &a, "advise(view, from, to): three arguments", "advise: the view must be a Uint8Array")) return NULL;
  double from = 0, to = 0;
  if (napi_get_value_double(env, a.argv[1], &from) != napi_ok || napi_get_value_double(env, a.argv[2], &to) != napi_ok) return fail(env, "advise: from and to must be numbers");
  if (!(from >= 0 && from <= to && to <= (double)a.length) || from != (double)(size_t)from || to != (double)(size_t)to) return fail(env, "advise: from and to must be whole byte offsets with 0 <= from <= to <= the view's length");
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)a.data + (size_t)from;
  uintptr_t end = (uintptr_t)a.data + (size_t)to;
  start = (start + page - 1) & ~(page - 1);
  end &= ~(page - 1);
  int result = 0;
  if (end > start && madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) result = errno;
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

// address(view: Uint8Array): bigint — where the view's first byte is in this process's address
// space, for the tests to find its mapping in /proc/self/smaps.
static napi_value address(napi_env env, napi_callback_info info) {
  ViewArgs a;
  if (!viewArgs(env, info, 1, &a, "address(view): one argument", "address: the view must be a Uint8Array")) return NULL;
  napi_value out;
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)a.data, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "advise", NAPI_AUTO_LENGTH, advise, NULL, &fn);
  napi_set_named_property(env, exports, "advise", fn);
  napi_create_function(env, "address", NAPI_AUTO_LENGTH, address, NULL, &fn);
  napi_set_named_property(env, exports, "address", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

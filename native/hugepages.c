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

// A call's `count` arguments into argv, the first a Uint8Array whose bytes go to *data and *length.
// Returns NULL, or what is wrong (`arity` for a wrong number of arguments, `notView` for a first
// argument that is not a Uint8Array), for the caller to throw.
static const char *viewCall(napi_env env, napi_callback_info info, size_t count, napi_value *argv, void **data, size_t *length, const char *arity, const char *notView) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) return arity;
  bool typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, argv[0], &typed) != napi_ok || !typed) return notView;
  if (napi_get_typedarray_info(env, argv[0], &type, length, data, NULL, NULL) != napi_ok || type != napi_uint8_array) return notView;
  return NULL;
}

// advise(view: Uint8Array, from: number, to: number): number — madvise(MADV_HUGEPAGE) over the
// whole pages of bytes [from, to) of the view's memory; 0, or the errno madvise gave.
static napi_value advise(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t length = 0;
  void *data = NULL;
  const char *wrong = viewCall(env, info, 3, argv, &data, &length, "advise(view, from, to): three arguments", "advise: the view must be a Uint8Array");
  if (wrong != NULL) return fail(env, wrong);
  double from = 0, to = 0;
  if (napi_get_value_double(env, argv[1], &from) != napi_ok || napi_get_value_double(env, argv[2], &to) != napi_ok) return fail(env, "advise: from and to must be numbers");
  if (!(from >= 0 && from <= to && to <= (double)length) || from != (double)(size_t)from || to != (double)(size_t)to) return fail(env, "advise: from and to must be whole byte offsets with 0 <= from <= to <= the view's length");
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)data + (size_t)from;
  uintptr_t end = (uintptr_t)data + (size_t)to;
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
  napi_value argv[1];
  size_t length = 0;
  void *data = NULL;
  const char *wrong = viewCall(env, info, 1, argv, &data, &length, "address(view): one argument", "address: the view must be a Uint8Array");
  if (wrong != NULL) return fail(env, wrong);
  napi_value out;
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &out);
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

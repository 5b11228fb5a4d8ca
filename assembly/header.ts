// Reading the book's header (layout.ts H_*), which JavaScript writes above the heap base.

/** The byte offset of the column (or region) named by header slot `slot`. */
// @ts-ignore: decorator
@inline
export function column(header: usize, slot: u32): usize {
  return <usize>load<u32>(header + (<usize>slot << 2));
}

/** The value the header holds in slot `slot` itself (a count rather than an offset). */
// @ts-ignore: decorator
@inline
export function headerValue(header: usize, slot: u32): u32 {
  return load<u32>(header + (<usize>slot << 2));
}

/** Sets the value header slot `slot` holds (the kernel's own bookkeeping: H_RECORDS_TAIL). */
// @ts-ignore: decorator
@inline
export function setHeaderValue(header: usize, slot: u32, value: u32): void {
  store<u32>(header + (<usize>slot << 2), value);
}

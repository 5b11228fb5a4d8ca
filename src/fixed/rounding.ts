// Integer division with the rounding named at the call site (docs/domain.md section 7). BigInt `/`
// truncates toward zero, which is neither direction the rules ask for, so it is never used bare.

export function divFloor(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('divFloor: denominator must be positive');
  const quotient = numerator / denominator;
  return numerator % denominator !== 0n && numerator < 0n ? quotient - 1n : quotient;
}

export function divCeil(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('divCeil: denominator must be positive');
  const quotient = numerator / denominator;
  return numerator % denominator !== 0n && numerator > 0n ? quotient + 1n : quotient;
}

export function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

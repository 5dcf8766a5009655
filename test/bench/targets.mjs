// Targets a benchmark promises, and the verdict `run.mjs` turns into its exit code: a benchmark returns
// `{ ..., targets: [target(...), ...] }`; run.mjs prints every target and exits 1 when one is missed. A figure
// without a target is printed, never judged.

/**
 * @param {string} name what is measured, e.g. 'cold load ratio fireops/minimal (median of 15)'
 * @param {number} value the measured figure
 * @param {'<=' | '<' | '>=' | '>'} op how value must compare with limit
 * @param {number} limit the target
 */
export function target(name, value, op, limit) {
  const held =
    op === '<=' ? value <= limit : op === '<' ? value < limit : op === '>=' ? value >= limit : value > limit;
  return { name, value: Math.round(value * 1000) / 1000, op, limit, held };
}

/** A target that is a yes/no fact (e.g. "writes per cycle as promised"). */
export function fact(name, held, detail = '') {
  return { name, value: detail || (held ? 'yes' : 'no'), op: '==', limit: 'yes', held: Boolean(held) };
}

/** Prints the targets of one benchmark; returns how many were missed. */
export function report(bench, targets) {
  if (!targets?.length) {
    console.log(`${bench}: no targets (figures only)`);
    return 0;
  }
  let missed = 0;
  for (const t of targets) {
    if (!t.held) missed += 1;
    console.log(
      `${t.held ? 'held  ' : 'MISSED'} ${bench}: ${t.name}: ${t.value} (target ${t.op} ${t.limit})`,
    );
  }
  return missed;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Nearest-rank percentile (p in 0..100). */
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

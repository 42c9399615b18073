// A strict reader of Prometheus's text exposition format (version 0.0.4), for
// tests: every line must be a HELP, a TYPE or a sample of a declared family,
// and histograms must be whole. prom-client writes the format but has no
// reader of its own, so this checks what a scraper would reject.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  help: Map<string, string>;
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = new RegExp(`^(${LABEL_NAME})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`);

/**
 * A value as Prometheus reads one (Go's strconv.ParseFloat): a decimal, or
 * Inf / NaN in any letter case (prom-client writes an empty gauge's NaN as "Nan").
 */
function parseValue(text: string, line: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`not a number in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = LABEL.exec(rest);
    if (!match) throw new Error(`bad labels in: ${line}`);
    if (match[1]! in labels) throw new Error(`label ${match[1]} twice in: ${line}`);
    labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(match[0].length);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest.length > 0) throw new Error(`bad labels in: ${line}`);
  }
  return labels;
}

/** The family a sample belongs to: a histogram's _bucket, _sum and _count belong to it. */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    if (base && (types.get(base) === 'histogram' || types.get(base) === 'summary')) return base;
  }
  return undefined;
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const exposition: Exposition = { help: new Map(), types: new Map(), samples: [] };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let match: RegExpExecArray | null;
    if ((match = HELP_LINE.exec(line))) {
      if (exposition.help.has(match[1]!)) throw new Error(`HELP twice for ${match[1]}`);
      exposition.help.set(match[1]!, match[2]!);
    } else if ((match = TYPE_LINE.exec(line))) {
      if (exposition.types.has(match[1]!)) throw new Error(`TYPE twice for ${match[1]}`);
      if (exposition.samples.some((sample) => familyOf(sample.name, new Map([[match![1]!, match![2]!]])) !== undefined)) {
        throw new Error(`TYPE of ${match[1]} after its samples`);
      }
      exposition.types.set(match[1]!, match[2]!);
    } else if (line.startsWith('#')) {
      // Other comments are allowed by the format.
    } else if ((match = SAMPLE_LINE.exec(line))) {
      const name = match[1]!;
      if (familyOf(name, exposition.types) === undefined) throw new Error(`sample of an undeclared family: ${line}`);
      exposition.samples.push({ name, labels: parseLabels(match[2] ?? '', line), value: parseValue(match[3]!, line) });
    } else {
      throw new Error(`not a line of the exposition format: ${line}`);
    }
  }
  checkHistograms(exposition);
  return exposition;
}

/** Each histogram series: buckets by increasing le, counts never decreasing, +Inf equal to _count. */
function checkHistograms(exposition: Exposition): void {
  for (const [family, type] of exposition.types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Array<{ le: number; value: number }>>();
    const counts = new Map<string, number>();
    for (const sample of exposition.samples) {
      const { le, ...rest } = sample.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      if (sample.name === `${family}_bucket`) {
        if (le === undefined) throw new Error(`${family}_bucket without le`);
        series.set(key, [...(series.get(key) ?? []), { le: parseValue(le, le), value: sample.value }]);
      } else if (sample.name === `${family}_count`) {
        counts.set(key, sample.value);
      }
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        if (!(buckets[i]!.le > buckets[i - 1]!.le) || buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family} ${key}: buckets out of order`);
      }
      const last = buckets[buckets.length - 1]!;
      if (last.le !== Infinity || last.value !== counts.get(key)) throw new Error(`${family} ${key}: +Inf bucket is not the count`);
    }
  }
}

/** The value of the sample with exactly these labels, if there is one. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string>): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return exposition.samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
}

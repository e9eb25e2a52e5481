// The bench's results as an SVG chart, drawn here (no dependency, no service): per algorithm, grouped
// horizontal bars of token issuance (ours, the stack alone, the node:http reference, the peers) and of the
// guarded route (ours with fresh and with reused tokens, the resource server, the stack alone, the reference),
// the Nest+Fastify hello as a dashed line. Each bar says its 2xx/s and its ratio to the reference of its
// group. bench/run.mjs calls it after each run; to redraw from a results file without running the bench:
//
//   node bench/chart.mjs [bench/results/latest.json]     # writes the .svg next to the .json
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compareRows } from './lib/rounds.mjs';

const ALGORITHMS = ['HS256', 'ES256', 'RS256'];

/** Okabe-Ito colours, told apart with every common form of colour blindness. */
const SERIES = {
  ours: { colour: '#0072B2', name: 'ours (Fastify); on the guarded route, fresh tokens' },
  reused: { colour: '#56B4E9', name: 'ours (Fastify), guarded route, 300 tokens reused' },
  remote: { colour: '#009E73', name: 'ours, resource server (remote JWKS), fresh tokens' },
  floor: {
    colour: '#BBBBBB',
    name: 'the stack alone (Nest, passport-http, @nestjs/jwt; no OAuth library)',
  },
  reference: { colour: '#7A7A7A', name: 'reference: node:http + node:crypto' },
  oidc: { colour: '#CC79A7', name: 'oidc-provider (peer)' },
  express: { colour: '#E69F00', name: 'ours (Express)' },
  jmondi: { colour: '#D55E00', name: '@jmondi/oauth2-server (peer, Express)' },
};

/** The bars of one algorithm's group in each panel: [series, row id, label]. */
const PANELS = [
  {
    title: 'Token issuance (client_credentials, client_secret_basic)',
    reference: (alg) => `ref-issue-${alg}`,
    bars: (alg) => [
      ['ours', `ours-fastify-issue-${alg}`, 'ours (Fastify)'],
      ['floor', `nest-fastify-token-floor-${alg}`, 'the stack alone'],
      ['reference', `ref-issue-${alg}`, 'reference issuer (node:http)'],
      ['oidc', `oidc-issue-${alg}`, 'oidc-provider'],
      ...(alg === 'HS256'
        ? [
            ['express', 'ours-express-issue-HS256', 'ours (Express)'],
            ['jmondi', 'jmondi-issue-HS256', '@jmondi/oauth2-server'],
          ]
        : []),
    ],
  },
  {
    title: 'Guarded route (bearer token, required scope)',
    reference: (alg) => `ref-verify-${alg}`,
    hello: 'nest-fastify-hello',
    bars: (alg) => [
      ['ours', `ours-fastify-verify-${alg}`, 'ours, fresh tokens'],
      ['reused', `ours-fastify-verify-reused-${alg}`, 'ours, 300 tokens reused'],
      ...(alg === 'HS256'
        ? []
        : [['remote', `ours-fastify-verify-remote-${alg}`, 'resource server, fresh tokens']]),
      ['floor', `nest-fastify-jwt-guarded-${alg}`, 'the stack alone, fresh tokens'],
      ['reference', `ref-verify-${alg}`, 'reference verifier (node:http)'],
    ],
  },
];

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const WIDTH = 900;
const LABEL_X = 16;
const BAR_X = 250;
const BAR_MAX = 500;
const BAR_H = 16;
const BAR_GAP = 4;

/** Text for SVG: markup characters escaped, so a label can never break the document. */
export function escapeXml(value) {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

const int = (n) => Math.round(n).toLocaleString('en-US');

/** The SVG document for a results object (bench/results/*.json). */
export function renderChart(results) {
  const measured = new Map(results.rows.filter((r) => r.okPerSecond > 0).map((r) => [r.id, r]));
  const rates = new Map([...measured].map(([id, r]) => [id, r.okPerSecond]));
  const algorithms = ALGORITHMS.filter((alg) =>
    PANELS.some((panel) => panel.bars(alg).some(([, id]) => rates.has(id))),
  );
  const m = results.machine ?? {};
  const parts = [];
  let y = 28;
  const text = (x, ty, content, attributes = '') =>
    parts.push(`<text x="${x}" y="${ty}"${attributes}>${escapeXml(content)}</text>`);
  text(
    LABEL_X,
    y,
    '@nest-oauth2/server: successful responses per second, one server core',
    ' class="title"',
  );
  y += 20;
  text(
    LABEL_X,
    y,
    `commit ${m.commit ?? '?'}${m.srcUncommittedChanges ? ' (+ uncommitted src/)' : ''} · ${m.cpuModel ?? '?'}, ` +
      `nproc ${m.nproc ?? '?'} · Node ${m.node ?? '?'} · ${String(m.date ?? '').slice(0, 10)}` +
      `${results.settings?.quick ? ' · quick mode' : ''}`,
    ' class="sub"',
  );
  y += 18;
  text(
    LABEL_X,
    y,
    'Each bar: 2xx/s, and its ratio to the reference of its group (node:http + node:crypto, same keys and claims).',
    ' class="sub"',
  );
  y += 14;
  // Legend, two columns.
  const legend = Object.values(SERIES);
  legend.forEach((series, i) => {
    const lx = LABEL_X + (i % 2) * 430;
    const ly = y + 8 + Math.floor(i / 2) * 18;
    parts.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${series.colour}"/>`,
      `<text x="${lx + 18}" y="${ly + 10}">${escapeXml(series.name)}</text>`,
    );
  });
  const last = legend.length;
  const hx = LABEL_X + (last % 2) * 430;
  const hy = y + 8 + Math.floor(last / 2) * 18;
  parts.push(
    `<line x1="${hx + 6}" y1="${hy - 1}" x2="${hx + 6}" y2="${hy + 13}" class="hello"/>`,
    `<text x="${hx + 18}" y="${hy + 10}">Nest+Fastify hello, no OAuth (the framework's ceiling)</text>`,
  );
  y = hy + 44;

  if (!algorithms.length) {
    text(LABEL_X, y, 'None of the rows this chart shows ran in this run.', ' class="missing"');
    y += 20;
  }
  for (const panel of PANELS.filter(() => algorithms.length)) {
    const ids = algorithms.flatMap((alg) => panel.bars(alg).map(([, id]) => id));
    const hello = panel.hello ? rates.get(panel.hello) : undefined;
    const max = Math.max(1, hello ?? 0, ...ids.map((id) => rates.get(id) ?? 0));
    const scale = (value) => (value / max) * BAR_MAX;
    text(LABEL_X, y, panel.title, ' class="panel"');
    y += 10;
    const top = y;
    const behindBars = parts.length;
    for (const alg of algorithms) {
      y += 18;
      text(LABEL_X, y, alg, ' class="alg"');
      y += 6;
      const reference = rates.get(panel.reference(alg));
      for (const [key, id, barLabel] of panel.bars(alg)) {
        // Runs before the token pools presented one token to every request.
        const label = results.settings?.freshTokens ? barLabel : barLabel.replace('fresh', 'one');
        const series = SERIES[key];
        const rate = rates.get(id);
        const mid = y + BAR_H / 2 + 4;
        text(LABEL_X + 12, mid, label, ' class="label"');
        if (rate === undefined) {
          text(BAR_X + 4, mid, 'not run', ' class="missing"');
        } else {
          const width = Math.max(1, scale(rate));
          const versus =
            id === panel.reference(alg)
              ? 'reference'
              : reference
                ? `${compareRows(measured.get(id), measured.get(panel.reference(alg))).ratio.toFixed(2)}× reference`
                : '';
          parts.push(
            `<rect x="${BAR_X}" y="${y}" width="${width.toFixed(1)}" height="${BAR_H}" fill="${series.colour}">` +
              `<title>${escapeXml(`${id}: ${int(rate)} 2xx/s`)}</title></rect>`,
          );
          text(
            BAR_X + width + 6,
            mid,
            `${int(rate)}/s${versus ? ` · ${versus}` : ''}`,
            ' class="value"',
          );
        }
        y += BAR_H + BAR_GAP;
      }
    }
    if (hello !== undefined) {
      const x = (BAR_X + scale(hello)).toFixed(1);
      parts.splice(
        behindBars,
        0,
        `<line x1="${x}" y1="${top + 4}" x2="${x}" y2="${y}" class="hello"/>`,
      );
      text(
        Number(x) - 4,
        top + 2,
        `Nest+Fastify hello ${int(hello)}/s`,
        ' class="value" text-anchor="end"',
      );
    }
    y += 26;
  }
  const height = y;
  const title = `Benchmark of @nest-oauth2/server at commit ${m.commit ?? '?'} on ${m.cpuModel ?? '?'}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    '<style>',
    `text { font-family: ${FONT}; font-size: 12px; fill: #1f2328; }`,
    '.title { font-size: 17px; font-weight: 600; }',
    '.sub { font-size: 12px; fill: #57606a; }',
    '.panel { font-size: 15px; font-weight: 600; }',
    '.alg { font-size: 13px; font-weight: 600; }',
    // A white halo keeps a label readable where the hello line crosses it.
    '.value { font-size: 11px; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }',
    '.missing { font-size: 11px; fill: #57606a; font-style: italic; }',
    '.hello { stroke: #1f2328; stroke-width: 1.5; stroke-dasharray: 5 3; }',
    '</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** Reads a results JSON and writes its chart next to it (or to `svgPath`); returns the SVG's path. */
export function renderChartFile(jsonPath, svgPath = jsonPath.replace(/\.json$/, '') + '.svg') {
  writeFileSync(svgPath, renderChart(JSON.parse(readFileSync(jsonPath, 'utf8'))));
  return svgPath;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const here = dirname(fileURLToPath(import.meta.url));
  const written = renderChartFile(process.argv[2] ?? join(here, 'results/latest.json'));
  console.log(`chart: wrote ${written}`);
}

import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec as ChartSpec } from 'vega-lite';

/** resvg maps a bare sans-serif to Arial, which most Linux machines lack; DejaVu ships almost everywhere. */
export const DEFAULT_FONT = 'DejaVu Sans';

/** Renders a vega-lite spec to SVG headlessly (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG to PNG with resvg; text uses the system's fonts (none needed for the shapes). */
export function svgToPng(svg: string, width = 1200): Buffer {
  const png = new Resvg(svg, { fitTo: { mode: 'width', value: width }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: DEFAULT_FONT } }).render().asPng();
  return Buffer.from(png);
}

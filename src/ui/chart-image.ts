/**
 * A chart as a PNG: the recharts SVG is serialised, drawn on a canvas under the chart's title on a
 * white background, at twice the screen resolution. Fonts the SVG does not name fall back to the
 * canvas default, so the image reads like the page but is not pixel-identical to it.
 */
const SCALE = 2;
const TITLE_HEIGHT = 28;

export async function chartToPng(svg: SVGSVGElement, title: string): Promise<Blob> {
  const { width, height } = svg.getBoundingClientRect();
  if (width === 0 || height === 0) throw new Error(`The chart "${title}" is not on screen, so it cannot be drawn.`);
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', String(width));
  copy.setAttribute('height', String(height));
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(copy)], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * SCALE);
    canvas.height = Math.round((height + TITLE_HEIGHT) * SCALE);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('This browser cannot draw on a canvas.');
    context.scale(SCALE, SCALE);
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, width, height + TITLE_HEIGHT);
    context.fillStyle = '#111827';
    context.font = '600 15px system-ui, sans-serif';
    context.fillText(title, 8, 19);
    context.drawImage(image, 0, TITLE_HEIGHT, width, height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The chart could not be encoded as PNG.'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

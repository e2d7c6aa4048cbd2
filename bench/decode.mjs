// Decodes a whole band with databox (codec pool on every core); prints the seconds the read took.
import { CodecPool, openGeoTiff } from '../dist/index.js';

const pool = new CodecPool();
const tiff = await openGeoTiff(process.argv[2], { codecs: pool });
const start = performance.now();
const { bands } = await tiff.readWindow({ bands: [0] });
const seconds = (performance.now() - start) / 1000;
if (bands[0].length !== tiff.width * tiff.height) throw new Error('short read');
await tiff.close();
await pool.close();
console.log(seconds);

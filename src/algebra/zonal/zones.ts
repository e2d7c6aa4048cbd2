/**
 * The zones' public face inside zonal/, kept at this path for the files that import it: everything
 * lives in zones/ (one file per format, the CRS rules, the pixel-space transform).
 */
export * from './zones/index.js';

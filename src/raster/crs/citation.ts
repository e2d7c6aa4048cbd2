/**
 * Human names from citation GeoKeys, which writers fill with more than names: GDAL writes
 * "GCS Name = X|Datum = Y|..." and "LUnits = metre", ERDAS Imagine a copyright banner, ArcGIS
 * a whole ESRI PE string, and GDAL "unknown" when it knows nothing.
 */
import { peName, peStringOf } from './esri-pe.js';

/** The name a citation carries, or undefined when it carries none worth showing. */
export function citationName(citation: string | undefined): string | undefined {
  if (citation === undefined) return undefined;
  const pe = peStringOf(citation);
  if (pe !== undefined) return clean(peName(pe));
  let text = citation;
  if (text.includes('IMAGINE GeoTIFF')) {
    // Imagine's banner ends with an RCS "$Date$"; what follows is the useful part.
    text = text.slice(text.lastIndexOf('$') + 1).replace(/\n/g, ' ');
  }
  const named = /(?:^|\|)\s*(?:PCS|GCS) Name = ([^|]*)/.exec(text);
  if (named) return clean(named[1]);
  // GDAL's key = value citations ("LUnits = US survey foot") hold no name.
  if (/^\s*\w+ = /.test(text)) return undefined;
  return clean(text);
}

function clean(name: string | undefined): string | undefined {
  const text = name?.replace(/\|+$/, '').trim();
  if (text === undefined || text === '' || /^(unknown|unnamed)$/i.test(text)) return undefined;
  return text;
}

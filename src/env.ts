/**
 * Every environment variable the project reads, in one documented place.
 * Read once, lazily, so tests can set variables before first use.
 */
export interface DataboxEnv {
  /** `DATABOX_S3_ENDPOINT`: base URL of an S3-compatible store (MinIO, Ceph RGW, OBS); enables path-style addressing. */
  s3Endpoint: string | undefined;
  /** `AWS_REGION` or `AWS_DEFAULT_REGION`; @defaultValue `us-east-1` */
  awsRegion: string;
  /** `AWS_ACCESS_KEY_ID`; when unset the AWS SDK's default credential chain applies. */
  awsAccessKeyId: string | undefined;
  /** `AWS_SECRET_ACCESS_KEY`. */
  awsSecretAccessKey: string | undefined;
  /** `AWS_SESSION_TOKEN`, for temporary credentials. */
  awsSessionToken: string | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): DataboxEnv {
  const blank = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());
  return {
    s3Endpoint: blank(env.DATABOX_S3_ENDPOINT),
    awsRegion: blank(env.AWS_REGION) ?? blank(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
    awsAccessKeyId: blank(env.AWS_ACCESS_KEY_ID),
    awsSecretAccessKey: blank(env.AWS_SECRET_ACCESS_KEY),
    awsSessionToken: blank(env.AWS_SESSION_TOKEN),
  };
}

import { readFileSync } from 'node:fs';

/** Set by the build (scripts/build.mjs); absent when run from source. */
declare const MQCTL_VERSION: string | undefined;

/** `mqctl/0.1.0 node/v20.19.0`, as `aws --version` names itself and its runtime. */
export function versionLine(): string {
  const version =
    typeof MQCTL_VERSION === 'string'
      ? MQCTL_VERSION
      : (
          JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
            version: string;
          }
        ).version;
  return `mqctl/${version} node/${process.version}`;
}

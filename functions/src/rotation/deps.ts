// Production dependencies of the rotation engine, built on first use.
import {
  CALLBACK_ORIGINS,
  GITHUB_TOKEN_SECRET_ID,
  WEBHOOK_SECRET_CACHE_SECONDS,
  WEBHOOK_SECRET_ID,
} from '../platform/params';
import { projectId } from '../platform/firestore';
import { systemClock } from '../platform/domain/clock';
import { OctokitGithubApi } from '../platform/github-api';
import type { EngineDeps } from './engine';

let deps: EngineDeps | undefined;

export function rotationDeps(): EngineDeps {
  deps ??= {
    clock: systemClock,
    github: new OctokitGithubApi(GITHUB_TOKEN_SECRET_ID.value()),
    webhookSecretPropagationMs: (WEBHOOK_SECRET_CACHE_SECONDS.value() + 1) * 1000,
    trust: {
      callbackOrigins: CALLBACK_ORIGINS.value()
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      extraSecretIds: [WEBHOOK_SECRET_ID.value()],
      projectId: projectId(),
    },
    idToken: async (audience) => {
      if (process.env.FUNCTIONS_EMULATOR === 'true') return undefined; // local callback servers take no token
      const { GoogleAuth } = await import('google-auth-library');
      const client = await new GoogleAuth().getIdTokenClient(audience);
      return client.idTokenProvider.fetchIdToken(audience);
    },
  };
  return deps;
}

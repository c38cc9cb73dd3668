import type { SessionCredentials } from './sts.js';

/** Turns role credentials into an AWS console sign-in URL (SPEC §4.3). */
export interface ConsoleSignIn {
  /** `sessionDurationSeconds` (900..43200) bounds the console session; omitted, it lasts as long as the credentials. */
  signInUrl(credentials: SessionCredentials, issuer: string, sessionDurationSeconds?: number): Promise<string>;
}

const CONSOLE_DESTINATION = 'https://console.aws.amazon.com/';

/**
 * The documented federation flow: exchange the session for a sign-in token at
 * `<federationUrl>?Action=getSigninToken`, then build the `Action=login` URL with it.
 */
export function createFederationSignIn(federationUrl: string, timeoutMs = 5_000): ConsoleSignIn {
  return {
    async signInUrl(credentials, issuer, sessionDurationSeconds) {
      const session = JSON.stringify({
        sessionId: credentials.accessKeyId,
        sessionKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
      });
      const tokenUrl = new URL(federationUrl);
      tokenUrl.searchParams.set('Action', 'getSigninToken');
      if (sessionDurationSeconds !== undefined) tokenUrl.searchParams.set('SessionDuration', String(sessionDurationSeconds));
      tokenUrl.searchParams.set('Session', session);
      let response: Response;
      try {
        response = await fetch(tokenUrl, { signal: AbortSignal.timeout(timeoutMs) });
      } catch {
        // The URL carries the session secrets: never put it, or fetch's error about it, in a message.
        throw new FederationFailure('the AWS federation endpoint did not answer');
      }
      if (!response.ok) throw new FederationFailure(`the AWS federation endpoint answered ${response.status}`);
      const body = (await response.json().catch(() => ({}))) as { SigninToken?: unknown };
      if (typeof body.SigninToken !== 'string') throw new FederationFailure('the AWS federation endpoint gave no sign-in token');
      const login = new URL(federationUrl);
      login.searchParams.set('Action', 'login');
      login.searchParams.set('Issuer', issuer);
      login.searchParams.set('Destination', CONSOLE_DESTINATION);
      login.searchParams.set('SigninToken', body.SigninToken);
      return login.toString();
    },
  };
}

export class FederationFailure extends Error {
  override name = 'FederationFailure';
}

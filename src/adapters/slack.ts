import type { WebClient } from '@slack/web-api';

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** The Slack Web API calls Brevet makes. Failures throw SlackFailure; callers retry through jobs. */
export interface SlackGateway {
  /** Posts a message; with `threadTs`, as a reply in the thread of that message. */
  postMessage(channel: string, text: string, blocks?: unknown[], threadTs?: string): Promise<SlackMessageRef>;
  updateMessage(ref: SlackMessageRef, text: string, blocks: unknown[]): Promise<void>;
  postEphemeral(channel: string, user: string, text: string): Promise<void>;
  /** The DM channel with a user. */
  openDirectMessage(user: string): Promise<string>;
  /**
   * The e-mail of a Slack user's profile, when Slack shares it (users:read.email); undefined for
   * a user Slack does not know. Throws SlackFailure only when Slack could not answer.
   */
  userEmail(user: string): Promise<string | undefined>;
}

export class SlackFailure extends Error {
  override name = 'SlackFailure';
}

/**
 * Slack without SLACK_BOT_TOKEN: Slack's calls to Brevet are still verified and acted on, and every
 * call Brevet would make to Slack fails as Slack down would (a private answer is not sent, a Slack
 * user not yet linked to a principal is refused).
 */
export const slackWithoutToken: SlackGateway = {
  postMessage: noToken,
  updateMessage: noToken,
  postEphemeral: noToken,
  openDirectMessage: noToken,
  userEmail: noToken,
};

function noToken(): Promise<never> {
  return Promise.reject(new SlackFailure('SLACK_BOT_TOKEN is not set'));
}

/**
 * `@slack/web-api` with its own retries off: Brevet retries through its `notify` job with
 * backoff, so a rate-limited or failing Slack never blocks a request or a worker.
 */
export function createSlackGateway(token: string, apiUrl: string | undefined, timeoutMs = 5_000): SlackGateway {
  // The client (and its HTTP stack) is loaded on the first call: an API process that only
  // verifies Slack's signatures, or never posts, does not hold it.
  let loaded: Promise<WebClient> | undefined;
  const load = () =>
    (loaded ??= import('@slack/web-api').then(
      (sdk) =>
        new sdk.WebClient(token, {
          ...(apiUrl === undefined ? {} : { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` }),
          retryConfig: { retries: 0 },
          rejectRateLimitedCalls: true,
          timeout: timeoutMs,
        }),
    ));
  const call = async <T>(run: (client: WebClient) => Promise<T>): Promise<T> => {
    try {
      return await run(await load());
    } catch (error) {
      // Slack errors carry codes like `ratelimited`, `channel_not_found`; never the token.
      const data = (error as { data?: { error?: string }; code?: string }).data;
      throw new SlackFailure(data?.error ?? (error as { code?: string }).code ?? 'slack call failed');
    }
  };
  return {
    postMessage: (channel, text, blocks, threadTs) =>
      call(async (client) => {
        const result = await client.chat.postMessage({
          channel,
          text,
          ...(blocks === undefined ? {} : { blocks: blocks as never }),
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
        });
        return { channel: result.channel ?? channel, ts: result.ts! };
      }),
    updateMessage: (ref, text, blocks) =>
      call(async (client) => {
        await client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks: blocks as never });
      }),
    postEphemeral: (channel, user, text) =>
      call(async (client) => {
        await client.chat.postEphemeral({ channel, user, text });
      }),
    openDirectMessage: (user) =>
      call(async (client) => {
        const result = await client.conversations.open({ users: user });
        return result.channel!.id!;
      }),
    userEmail: (user) =>
      call(async (client) => {
        try {
          const found = (await client.users.info({ user })).user;
          const trusted =
            found !== undefined &&
            // Absent in many answers (and in Slack's own examples); only an explicit `false` says unconfirmed.
            found.is_email_confirmed !== false &&
            found.deleted !== true &&
            found.is_bot !== true &&
            found.is_restricted !== true &&
            found.is_ultra_restricted !== true;
          return trusted ? (found.profile?.email ?? undefined) : undefined;
        } catch (error) {
          // An unknown (or deleted) user is an answer, not a failure: there is no e-mail to map.
          if ((error as { data?: { error?: string } }).data?.error === 'user_not_found') return undefined;
          throw error;
        }
      }),
  };
}

/** Sends one webhook POST; answers the HTTP status, or throws on network failure or timeout. */
export interface WebhookSender {
  post(url: string, body: string, headers: Record<string, string>): Promise<number>;
}

export function createWebhookSender(timeoutMs = 5_000): WebhookSender {
  return {
    async post(url, body, headers) {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'user-agent': 'Brevet-Webhooks/1', ...headers },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      await response.body?.cancel();
      return response.status;
    },
  };
}

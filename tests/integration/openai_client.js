#!/usr/bin/env node
// Drives `client serve` with the OpenAI Node.js library, unchanged (test_gateway.cpp): one
// completion whole, one streamed, and one with a field the gateway does not support.
//   node openai_client.js OPENAI_PACKAGE_DIR BASE_URL MODEL PROMPT MAX_TOKENS
// Prints {"whole", "finish", "usage", "streamed", "refused_status", "refused_message"} as JSON.
const [, , lib, baseURL, model, prompt, maxTokens] = process.argv;
const OpenAI = require(lib);

(async () => {
  const client = new OpenAI({ baseURL, apiKey: 'not-used-by-the-gateway', maxRetries: 0 });
  const request = { model, prompt, max_tokens: Number(maxTokens), temperature: 0 };
  const whole = await client.completions.create(request);
  let streamed = '';
  const stream = await client.completions.create({ ...request, stream: true });
  for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
  let refusedStatus = null;
  let refusedMessage = null;
  try {
    await client.completions.create({ ...request, top_p: 0.5 });
  } catch (e) {
    refusedStatus = e.status ?? null;
    refusedMessage = String(e.message);
  }
  process.stdout.write(JSON.stringify({
    whole: whole.choices[0].text,
    finish: whole.choices[0].finish_reason,
    usage: whole.usage,
    streamed,
    refused_status: refusedStatus,
    refused_message: refusedMessage,
  }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

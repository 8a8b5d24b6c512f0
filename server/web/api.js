// GraphQL over HTTP for the page: one POST per operation, the tab's token as bearer.

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

const TOKEN_KEY = "funnelgraph.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function keepToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// The data of `query`; an ApiError with the first error's message and code otherwise.
export async function request(query, variables = {}) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError("The server cannot be reached. Check your connection.", "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch (error) {
    throw new ApiError(`The server answered ${response.status}.`, "INTERNAL_SERVER_ERROR");
  }
  if (body.errors && body.errors.length) {
    const [first] = body.errors;
    throw new ApiError(first.message, (first.extensions && first.extensions.code) || "ERROR");
  }
  return body.data;
}

// A clientMutationId: the page recognises its own changes among the live events.
export function mutationId() {
  return `web-${crypto.randomUUID()}`;
}

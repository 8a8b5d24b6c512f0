// The campaign's chat: history read backwards page by page, new messages live, and a
// box that sends with Enter (Shift+Enter: a new line).

import { mutationId, request } from "./api.js";
import { h, moment, say } from "./dom.js";

const MESSAGE = "id body createdAt cursor author { id name }";
const HISTORY = `
query Chat($id: ID!, $before: String) {
  campaign(id: $id) {
    chatMessages(last: 30, before: $before) {
      edges { node { ${MESSAGE} } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
}`;
const LIVE = `
subscription Chat($id: ID!, $after: String) {
  campaignChat(campaignId: $id, after: $after) { ${MESSAGE} }
}`;
const POST = `
mutation Post($input: PostChatMessageInput!) { postChatMessage(input: $input) { id } }`;

export class ChatPanel {
  constructor(campaignId, live) {
    this.campaignId = campaignId;
    this.live = live;
    this.seen = new Set();
    this.lastCursor = null;
    this.firstCursor = null;
    this.list = h("ol", { class: "messages", "aria-live": "polite", "aria-label": "Messages" });
    this.empty = h("p", { class: "empty" }, "No messages yet.");
    this.earlier = h("button", { type: "button", class: "earlier", hidden: true }, "Earlier messages");
    this.earlier.addEventListener("click", () => this.loadEarlier());
    this.input = h("textarea", {
      "data-testid": "chat-input",
      rows: "2",
      placeholder: "Write a message, Enter to send",
      "aria-label": "Message",
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.element = h(
      "aside",
      { class: "chat", "aria-label": "Campaign chat" },
      h("h2", {}, "Chat"),
      this.earlier,
      this.empty,
      this.list,
      h("label", { class: "visually-hidden", for: "chat-input" }, "Message"),
      this.input,
    );
    this.input.id = "chat-input";
  }

  async start() {
    await this.loadEarlier();
    this.stopLive = this.live.subscribe(
      LIVE,
      () => ({ id: this.campaignId, after: this.lastCursor }),
      {
        next: (data) => data && this.add([data.campaignChat], "end"),
        error: (errors) => say(errors[0] ? errors[0].message : "The chat stream ended."),
      },
    );
  }

  stop() {
    if (this.stopLive) this.stopLive();
  }

  async loadEarlier() {
    const data = await request(HISTORY, { id: this.campaignId, before: this.firstCursor });
    if (!data.campaign) return;
    const page = data.campaign.chatMessages;
    this.add(
      page.edges.map((edge) => edge.node),
      "start",
    );
    this.earlier.hidden = !page.pageInfo.hasPreviousPage;
  }

  add(messages, where) {
    const fresh = messages.filter((message) => !this.seen.has(message.id));
    if (!fresh.length) return;
    this.empty.hidden = true;
    const items = fresh.map((message) => {
      this.seen.add(message.id);
      return h(
        "li",
        { "data-testid": "chat-message", "data-message-id": message.id },
        h("span", { class: "author" }, message.author.name),
        h("time", { datetime: message.createdAt }, moment(message.createdAt)),
        h("p", { class: "body" }, message.body),
      );
    });
    if (where === "start") {
      this.list.prepend(...items);
      this.firstCursor = fresh[0].cursor;
      if (!this.lastCursor) this.lastCursor = fresh[fresh.length - 1].cursor;
    } else {
      this.list.append(...items);
      this.lastCursor = fresh[fresh.length - 1].cursor;
      this.list.lastElementChild.scrollIntoView({ block: "nearest" });
    }
  }

  async send() {
    const body = this.input.value.trim();
    if (!body) return;
    this.input.value = "";
    try {
      // It is shown when the live stream brings it, in its place among the others'.
      await request(POST, {
        input: { campaignId: this.campaignId, body, clientMutationId: mutationId() },
      });
    } catch (error) {
      this.input.value = body;
      say(error.message);
    }
  }
}

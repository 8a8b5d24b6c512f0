// The page: sign in, pick a campaign, work its board and chat live.
//
// Going live with no gap: the board is read with its lastEventCursor, then
// campaignEvents is subscribed `after` it; every event moves the cursor on, and a
// reconnect subscribes again after the last one seen. RESYNC_REQUIRED (the cursor left
// the retained log) reads the board again. A card moved here is placed at once and
// sent with a clientMutationId; a refusal puts it back and says why.

import { ApiError, keepToken, mutationId, request, token } from "./api.js";
import { Board, CARD_FIELDS } from "./board.js";
import { BoardView } from "./board_view.js";
import { openCard } from "./card_detail.js";
import { ChatPanel } from "./chat.js";
import { h, say } from "./dom.js";
import { LiveConnection, liveUrl } from "./live.js";

const LOGIN = `
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token user { id name } }
}`;
const ME = "{ me { id name } notifications(first: 1, unreadOnly: true) { totalCount } }";
const UNREAD = "{ notifications(first: 1, unreadOnly: true) { totalCount } }";
const CAMPAIGNS = `
{ campaigns(first: 100) { edges { node { id name code description manager { name } } } } }`;
const BOARD = `
query Board($id: ID!) {
  campaign(id: $id) {
    id name lastEventCursor
    stages {
      id name position opportunityCount totalAmount weightedAmount
      opportunities(first: 200) { edges { node { ${CARD_FIELDS} } } }
    }
  }
}`;
const EVENTS = `
subscription Board($id: ID!, $after: String) {
  campaignEvents(campaignId: $id, after: $after) {
    cursor clientMutationId actor { name }
    stageTotals { stageId opportunityCount totalAmount weightedAmount }
    payload {
      __typename
      ... on OpportunityCreated { opportunityId opportunity { ${CARD_FIELDS} } }
      ... on OpportunityUpdated { opportunityId opportunity { ${CARD_FIELDS} } }
      ... on OpportunityMoved { opportunityId opportunity { ${CARD_FIELDS} } }
      ... on OpportunityAssigned { opportunityId opportunity { ${CARD_FIELDS} } }
      ... on OpportunityClosed { opportunityId opportunity { ${CARD_FIELDS} } }
      ... on OpportunityReopened { opportunityId opportunity { ${CARD_FIELDS} } }
      ... on OpportunityRotting { opportunityId opportunity { ${CARD_FIELDS} } }
      ... on OpportunityDeleted { opportunityId stageId }
      ... on CampaignUpdated { changedFields campaign { name } }
    }
  }
}`;
const MOVE = `
mutation Move($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { ${CARD_FIELDS} } }`;
const CARD = `query Card($id: ID!) { opportunity(id: $id) { ${CARD_FIELDS} } }`;
const NOTIFICATIONS = "subscription { myNotifications { id } }";
const RECENT = `
{ notifications(first: 10) { edges { node { id kind createdAt readAt
  campaign { name } opportunity { name } actor { name } } } } }`;
const MARK_READ = "mutation { markNotificationsRead }";

const VERBS = {
  OpportunityCreated: "added",
  OpportunityUpdated: "updated",
  OpportunityMoved: "moved",
  OpportunityAssigned: "assigned",
  OpportunityClosed: "closed",
  OpportunityReopened: "reopened",
};

const root = document.getElementById("app");
let session = null; // {user, live, unread, stopPage}

window.addEventListener("hashchange", route);
route();

async function route() {
  if (session && session.stopPage) session.stopPage();
  if (session) session.stopPage = null;
  say("");
  if (!token()) return showLogin();
  try {
    if (!session) await startSession();
    const match = location.hash.match(/^#\/campaigns\/([^/]+)$/);
    if (match) return await showCampaign(decodeURIComponent(match[1]));
    return await showCampaigns();
  } catch (error) {
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") {
      return signOut("Your session ended: sign in again.");
    }
    return session ? say(error.message) : showFailure(error);
  }
}

// ---------------------------------------------------------------- session

async function startSession() {
  const data = await request(ME);
  let wasLive = false;
  const live = new LiveConnection({
    url: liveUrl(),
    token: token(),
    onState: (state) => {
      showConnection(state);
      if (state === "live" && wasLive) refreshUnread(); // what came while away
      wasLive = wasLive || state === "live";
    },
    onRefused: () => signOut("Your session ended: sign in again."),
  });
  session = { user: data.me, live, unread: data.notifications.totalCount, stopPage: null };
  // The count is the server's: read again when one arrives (notifications are few).
  live.subscribe(NOTIFICATIONS, () => ({}), { next: () => refreshUnread() });
}

async function refreshUnread() {
  try {
    const data = await request(UNREAD);
    if (session) setUnread(data.notifications.totalCount);
  } catch (error) {
    // the next notification or reconnect reads it again
  }
}

function signOut(message = "") {
  if (session) session.live.stop();
  session = null;
  keepToken(null);
  showLogin(message);
}

function frame(...content) {
  const connection = h(
    "span",
    { class: "connection", "data-testid": "connection", "data-state": session.live.state, role: "status" },
    stateText(session.live.state),
  );
  const badge = h(
    "button",
    { type: "button", class: "notifications" },
    "Notifications",
    h("span", { class: "count", "data-testid": "notification-count" }, String(session.unread)),
  );
  badge.addEventListener("click", showNotifications);
  const leave = h("button", { type: "button", class: "sign-out" }, "Sign out");
  leave.addEventListener("click", () => signOut());
  root.replaceChildren(
    h(
      "header",
      { class: "top" },
      h("a", { href: "#/", class: "brand" }, "Funnelgraph"),
      h("span", { class: "user" }, session.user.name),
      connection,
      badge,
      leave,
    ),
    h("p", { class: "message", role: "alert", "data-testid": "message", hidden: true }),
    h("main", {}, ...content),
  );
}

function showConnection(state) {
  const element = document.querySelector("[data-testid=connection]");
  if (!element) return;
  element.dataset.state = state;
  element.textContent = stateText(state);
}

function stateText(state) {
  return { live: "Live", reconnecting: "Reconnecting…", connecting: "Connecting…" }[state] || "Offline";
}

function setUnread(count) {
  session.unread = count;
  const element = document.querySelector("[data-testid=notification-count]");
  if (element) element.textContent = String(count);
}

async function showNotifications() {
  const old = document.querySelector(".notification-list");
  if (old) return old.remove();
  try {
    await listNotifications();
  } catch (error) {
    say(error.message);
  }
}

async function listNotifications() {
  const data = await request(RECENT);
  const list = h(
    "section",
    { class: "notification-list", "aria-label": "Notifications" },
    h("h2", {}, "Notifications"),
    data.notifications.edges.length
      ? h(
          "ul",
          {},
          data.notifications.edges.map(({ node }) =>
            h(
              "li",
              { class: node.readAt ? "read" : "unread" },
              describe(node),
            ),
          ),
        )
      : h("p", {}, "Nothing yet."),
  );
  document.querySelector("header.top").after(list);
  await request(MARK_READ);
  setUnread(0);
}

function describe(notification) {
  const what = notification.kind.toLowerCase().replaceAll("_", " ");
  const about = notification.opportunity ? notification.opportunity.name : notification.campaign ? notification.campaign.name : "";
  const by = notification.actor ? ` by ${notification.actor.name}` : "";
  return `${what}${about ? `: ${about}` : ""}${by}`;
}

// ---------------------------------------------------------------- pages

function showLogin(message = "") {
  const email = h("input", { name: "email", type: "email", id: "email", autocomplete: "username", required: true });
  const password = h("input", {
    name: "password", type: "password", id: "password", autocomplete: "current-password", required: true,
  });
  const error = h("p", { class: "message", role: "alert", "data-testid": "message", hidden: !message }, message);
  const form = h(
    "form",
    { "data-testid": "login", class: "login" },
    h("h1", {}, "Sign in to Funnelgraph"),
    h("label", { for: "email" }, "Email"), email,
    h("label", { for: "password" }, "Password"), password,
    h("button", { type: "submit" }, "Sign in"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await request(LOGIN, { email: email.value, password: password.value });
      keepToken(data.login.token);
      route();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
  root.replaceChildren(h("main", { class: "centered" }, form));
  email.focus();
}

function showFailure(error) {
  root.replaceChildren(h("main", { class: "centered" }, h("p", { role: "alert" }, error.message)));
}

async function showCampaigns() {
  frame(h("p", {}, "Loading campaigns…"));
  const data = await request(CAMPAIGNS);
  const campaigns = data.campaigns.edges.map((edge) => edge.node);
  frame(
    h("h1", {}, "Campaigns"),
    campaigns.length
      ? h(
          "ul",
          { class: "campaigns" },
          campaigns.map((campaign) =>
            h(
              "li",
              {},
              h(
                "a",
                {
                  href: `#/campaigns/${encodeURIComponent(campaign.id)}`,
                  "data-testid": "campaign-link",
                  "data-campaign-id": campaign.id,
                },
                h("strong", {}, campaign.name),
                ` (${campaign.code}) · managed by ${campaign.manager.name}`,
              ),
            ),
          ),
        )
      : h("p", {}, "You take part in no campaign yet."),
  );
}

async function showCampaign(campaignId) {
  frame(h("p", {}, "Loading the board…"));
  let board;
  try {
    board = await readBoard(campaignId);
  } catch (error) {
    if (error.code !== "NOT_FOUND") throw error;
    board = null;
  }
  if (!board) {
    frame(
      h("h1", {}, "Not found"),
      h("p", { "data-testid": "not-found" }, "This campaign does not exist, or you may not see it."),
      h("a", { href: "#/" }, "Back to your campaigns"),
    );
    return;
  }
  const page = new CampaignPage(board);
  session.stopPage = () => page.stop();
  await page.start();
}

async function readBoard(campaignId) {
  const data = await request(BOARD, { id: campaignId });
  return data.campaign ? new Board(data.campaign) : null;
}

class CampaignPage {
  constructor(board) {
    this.board = board;
    this.pending = new Set(); // clientMutationIds of this page's changes not yet seen live
    this.view = new BoardView(board, {
      onMove: (cardId, stageId, afterId) => this.move(cardId, stageId, afterId),
      onOpen: (cardId) =>
        openCard(cardId, { onChanged: (card) => this.changed(card), ownId: () => this.ownId() }),
    });
    this.chat = new ChatPanel(board.id, session.live);
    this.title = h("h1", {}, board.name);
    // Others' changes, told to screen readers (the page's own are not: its user made them).
    this.announcer = h("p", { class: "visually-hidden", "aria-live": "polite" });
    frame(
      h(
        "div",
        { class: "campaign" },
        h("div", { class: "main" }, this.title, this.announcer, this.view.element),
        this.chat.element,
      ),
    );
  }

  async start() {
    this.follow();
    await this.chat.start();
  }

  follow() {
    this.stopEvents = session.live.subscribe(
      EVENTS,
      () => ({ id: this.board.id, after: this.board.cursor }),
      {
        next: (data) => data && this.applyEvent(data.campaignEvents),
        error: (errors) => this.streamError(errors),
      },
    );
  }

  stop() {
    if (this.stopEvents) this.stopEvents();
    this.chat.stop();
  }

  applyEvent(event) {
    const own = this.pending.delete(event.clientMutationId);
    if (!own) this.announce(event);
    const touched = this.board.apply(event);
    if (touched.reload) return this.reload();
    this.view.render(touched.cards);
    this.title.textContent = this.board.name;
  }

  announce(event) {
    const verb = VERBS[event.payload.__typename];
    const card = event.payload.opportunity;
    if (!verb || !card) return;
    this.announcer.textContent = `${event.actor ? event.actor.name : "Someone"} ${verb} ${card.name}`;
  }

  async streamError(errors) {
    const code = errors[0] && errors[0].extensions && errors[0].extensions.code;
    if (code === "RESYNC_REQUIRED") return this.reload();
    say(errors[0] ? errors[0].message : "The board's stream ended.");
  }

  // Reads the board again and follows it from its new cursor.
  async reload() {
    this.stop();
    const board = await readBoard(this.board.id);
    if (!board) return route();
    const page = new CampaignPage(board);
    session.stopPage = () => page.stop();
    await page.start();
  }

  async move(cardId, stageId, afterId) {
    const card = this.board.cards.get(cardId);
    if (!card || afterId === cardId) return;
    const undo = this.board.place(cardId, stageId, afterId);
    this.view.render([cardId]);
    const clientMutationId = this.ownId();
    try {
      const data = await request(MOVE, {
        input: { id: cardId, stageId, afterId, expectedVersion: card.version, clientMutationId },
      });
      this.changed(data.moveOpportunity);
      say("");
    } catch (error) {
      this.pending.delete(clientMutationId);
      this.board.restore(undo);
      this.view.render([cardId]);
      say(`The card was not moved: ${error.message}`);
      await this.refresh(cardId);
    }
  }

  // A clientMutationId for a change made here: its live event is recognised as ours.
  ownId() {
    const id = mutationId();
    this.pending.add(id);
    return id;
  }

  changed(card) {
    const known = this.board.cards.get(card.id);
    if (known && known.version > card.version) return; // a later change was applied live
    this.board.upsert(card);
    this.view.render([card.id]);
  }

  // The card as the server has it now (after a refusal, the page's copy may be stale).
  async refresh(cardId) {
    try {
      const data = await request(CARD, { id: cardId });
      if (data.opportunity) this.changed(data.opportunity);
    } catch (error) {
      // the message already shown says enough
    }
  }
}

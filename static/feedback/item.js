// The item page's collision notice: the presence poll (htmx, every 15 s) tells the server
// whether this agent is replying (the reply composer holds text) or only viewing.
document.addEventListener("htmx:configRequest", (event) => {
  if (!event.detail.elt.hasAttribute("data-presence-poll")) {
    return;
  }
  const reply = document.querySelector("#reply textarea[name=text]");
  event.detail.parameters.activity = reply && reply.value.trim() ? "replying" : "viewing";
});

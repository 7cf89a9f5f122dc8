// The satisfaction survey under the message that asks it (msg.survey, surveys/jobs.py):
// stars 1-5 (CSAT) or 0-10 (NPS), then an optional comment, then the thank-you text.
// Every text goes in through textContent.

import { el, t } from "./util.js";

export function buildSurvey(survey, session) {
  const box = el("div", "ol-survey");
  box.dataset.testid = "widget-survey";
  const scores = el("div", "ol-survey-scores");
  scores.setAttribute("role", "group");
  scores.setAttribute("aria-label", t("surveyRate"));
  const note = el("p", "ol-survey-note");
  note.setAttribute("role", "status");
  const stars = survey.kind === "csat";
  const thank = () => {
    box.replaceChildren(el("p", "ol-survey-thanks", survey.thanks || ""));
  };
  const post = (json) => session.request("POST", "/api/v1/widget/survey", { json });

  const askComment = () => {
    const form = el("form", "ol-survey-comment");
    const label = el("label", "", survey.comment);
    const area = el("textarea");
    area.maxLength = 2000;
    area.rows = 2;
    area.id = `ol-survey-comment-${survey.request_id}`;
    label.htmlFor = area.id;
    const send = el("button", "ol-quick-btn", t("surveySend"));
    send.type = "submit";
    form.append(label, area, send);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!area.value.trim()) return thank();
      send.disabled = true;
      try {
        await post({ request_id: survey.request_id, comment: area.value });
        thank();
      } catch {
        send.disabled = false;
        note.textContent = t("surveyFailed");
      }
    });
    box.replaceChildren(el("p", "ol-survey-thanks", survey.thanks || ""), form, note);
    area.focus();
  };

  for (let n = survey.low; n <= survey.high; n++) {
    const button = el("button", stars ? "ol-survey-star" : "ol-quick-btn", stars ? "★" : String(n));
    button.type = "button";
    button.dataset.score = String(n);
    button.setAttribute("aria-label", t("surveyScore", { n, max: survey.high }));
    button.addEventListener("click", async () => {
      for (const b of scores.querySelectorAll("button")) b.disabled = true;
      try {
        await post({ request_id: survey.request_id, score: n });
        if (survey.comment) askComment();
        else thank();
      } catch (e) {
        if (e && e.status === 409) return thank(); // answered before (another tab, a reload)
        for (const b of scores.querySelectorAll("button")) b.disabled = false;
        note.textContent = t("surveyFailed");
      }
    });
    scores.appendChild(button);
  }
  box.append(scores, note);
  return box;
}

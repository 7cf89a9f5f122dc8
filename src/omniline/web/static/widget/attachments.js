// Attachment rendering: images as thumbnails, other files as links that open in a new tab.
// File names come from customers and agents: text nodes only.

import { el, t, formatSize } from "./util.js";

const isImage = (att) => String(att.content_type || "").startsWith("image/");

function fileBox(tag, name, size) {
  const box = el(tag, "ol-file");
  const icon = el("span", "ol-file-icon");
  icon.setAttribute("aria-hidden", "true");
  box.appendChild(icon);
  const label = el("span", "ol-file-label");
  label.appendChild(el("span", "ol-file-name", name));
  if (size) label.appendChild(el("span", "ol-file-size", formatSize(size)));
  box.appendChild(label);
  return box;
}

/**
 * @param attachments  [Attachment] from the API
 * @param urlFor       turns an attachment's `url` into one the browser may open (adds the token)
 * @param onImageLoad  called when a thumbnail has its real size (the list may need to scroll)
 */
export function attachmentList(attachments, urlFor, onImageLoad) {
  const ul = el("ul", "ol-attachments");
  for (const att of attachments) {
    const li = el("li", "ol-attachment");
    const name = att.filename || "file";
    let a;
    if (isImage(att)) {
      a = el("a", "ol-thumb");
      const img = el("img");
      img.alt = t("imageAlt", { name });
      img.loading = "lazy";
      img.decoding = "async";
      img.dataset.attachmentUrl = att.url || "";
      img.src = urlFor(att.url || "");
      img.addEventListener("load", onImageLoad, { once: true });
      a.appendChild(img);
    } else {
      a = fileBox("a", name, att.size);
    }
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.dataset.attachmentUrl = att.url || "";
    a.href = urlFor(att.url || "");
    li.appendChild(a);
    ul.appendChild(li);
  }
  return ul;
}

export function onlyImages(attachments) {
  return attachments.length > 0 && attachments.every(isImage);
}

// A file still uploading: no link yet, the server gives it a URL once stored.
export function pendingFile(file) {
  const ul = el("ul", "ol-attachments");
  const li = el("li", "ol-attachment");
  li.appendChild(fileBox("span", file.name, file.size));
  ul.appendChild(li);
  return ul;
}

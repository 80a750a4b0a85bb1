import { describe } from './api.ts';
import { fill, h, notice } from './dom.ts';

/**
 * Runs one change and says how it went in `status`: `ok` when the gateway took it, the gateway's own message when it
 * refused. `then` runs after a success (a reload), before the message; if it fails, the change still stands and the
 * status says both.
 * Never rejects, so a click handler can `void` it. Resolves to whether the change was taken.
 */
export async function act(status: HTMLElement, change: () => Promise<unknown>, ok: string, then?: () => Promise<void>): Promise<boolean> {
  try {
    await change();
  } catch (err) {
    fill(status, notice('error', describe(err)));
    return false;
  }
  // The page is redrawn first and the outcome said after, so what the message announces is already on the page.
  if (then !== undefined) {
    try {
      await then();
    } catch (err) {
      fill(status, notice('error', `${ok} Showing the result failed: ${describe(err)}`));
      return true;
    }
  }
  fill(status, notice('ok', ok));
  return true;
}

/** A button that copies `text()` to the clipboard and says whether it could. */
export function copyButton(label: string, text: () => string): HTMLElement {
  const said = h('span', { role: 'status', class: 'hint' });
  const button = h('button', { type: 'button', class: 'secondary' }, label);
  button.addEventListener('click', () => {
    navigator.clipboard.writeText(text()).then(
      () => (said.textContent = 'Copied.'),
      () => (said.textContent = 'Copying failed: select the text and copy it by hand.'),
    );
  });
  return h('span', { class: 'copy' }, button, said);
}

/** The lines of a textarea, trimmed, without the empty ones. */
export function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** Where a page or form says how its last change went (the notices in it are announced). */
export function statusSlot(): HTMLElement {
  return h('div', { class: 'status' });
}

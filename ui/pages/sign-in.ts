import { describe, request } from '../lib/api.ts';
import { field, fill, h, notice } from '../lib/dom.ts';
import { adoptCsrf } from '../lib/session.ts';

const ORG_SLUG = /^[a-z0-9-]{1,40}$/;

interface Started {
  readonly csrfToken: string;
  readonly next?: 'done' | 'totp' | 'enrol_totp';
  readonly recoveryCodes?: readonly string[];
}

/**
 * Signing in: password, then the second factor the account owes (a TOTP code or a recovery code; enrolment when the
 * organisation requires one and the person has none), or single sign-on at the organisation's IdP.
 */
export function renderSignIn(main: HTMLElement, done: () => void, message?: string): void {
  const params = new URLSearchParams(location.search);
  const org = h('input', { name: 'org', required: true, autocomplete: 'organization', pattern: '[a-z0-9-]{1,40}', value: params.get('org') ?? '' });
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const status = h('div', { class: 'status' }, message === undefined || message === '' ? null : notice('info', message));
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const sso = h('button', { type: 'button', class: 'secondary' }, 'Sign in with single sign-on');
  sso.addEventListener('click', () => {
    if (!ORG_SLUG.test(org.value)) {
      fill(status, notice('error', 'Enter your organisation’s short name (lower-case letters, digits and dashes) to use single sign-on.'));
      org.focus();
      return;
    }
    location.assign(`/auth/oidc/${encodeURIComponent(org.value)}/start`);
  });
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Gatehouse'),
    status,
    field('Organisation', org, 'Its short name, as in the link you were given'),
    field('Email', email),
    field('Password', password),
    h('div', { class: 'actions' }, submit, sso),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    fill(status);
    request<Started>('POST', '/auth/login', { org: org.value, email: email.value, password: password.value })
      .then((r) => {
        adoptCsrf(r.csrfToken);
        password.value = '';
        if (r.next === 'totp') renderSecondFactor(main, done);
        else if (r.next === 'enrol_totp') void renderEnrol(main, done);
        else done();
      })
      .catch((err: unknown) => {
        submit.disabled = false;
        fill(status, notice('error', describe(err)));
        password.focus();
      });
  });
  fill(main, form);
  (org.value === '' ? org : email).focus();
}

function renderSecondFactor(main: HTMLElement, done: () => void): void {
  let recovery = false;
  const code = h('input', { name: 'code', required: true, autocomplete: 'one-time-code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: 6 });
  const recoveryCode = h('input', { name: 'recoveryCode', required: true, autocomplete: 'off', maxlength: 32, spellcheck: false });
  const status = h('div', { class: 'status' });
  const slot = h('div', {}, field('Code from your authenticator app', code));
  const toggle = h('button', { type: 'button', class: 'link' }, 'Use a recovery code instead');
  toggle.addEventListener('click', () => {
    recovery = !recovery;
    fill(slot, recovery ? field('Recovery code', recoveryCode, 'One of the codes you saved when you set up two-step sign-in; each works once') : field('Code from your authenticator app', code));
    toggle.textContent = recovery ? 'Use a code from the app instead' : 'Use a recovery code instead';
    (recovery ? recoveryCode : code).focus();
  });
  const submit = h('button', { type: 'submit' }, 'Verify');
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'tf-title' }, h('h1', { id: 'tf-title' }, 'Two-step sign-in'), status, slot, h('div', { class: 'actions' }, submit, toggle));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    const body = recovery ? { recoveryCode: recoveryCode.value.trim() } : { code: code.value.trim() };
    request<Started>('POST', '/auth/totp/verify', body)
      .then((r) => {
        adoptCsrf(r.csrfToken);
        done();
      })
      .catch((err: unknown) => {
        submit.disabled = false;
        fill(status, notice('error', describe(err)));
        (recovery ? recoveryCode : code).select();
      });
  });
  fill(main, form);
  code.focus();
}

async function renderEnrol(main: HTMLElement, done: () => void): Promise<void> {
  const status = h('div', { class: 'status' });
  fill(main, h('section', { class: 'card narrow' }, h('h1', {}, 'Set up two-step sign-in'), status));
  let secret: { secret: string; otpauthUri: string };
  try {
    secret = await request<{ secret: string; otpauthUri: string }>('POST', '/auth/totp/enrol', {});
  } catch (err) {
    fill(status, notice('error', describe(err)));
    return;
  }
  const code = h('input', { name: 'code', required: true, autocomplete: 'one-time-code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: 6 });
  const submit = h('button', { type: 'submit' }, 'Confirm');
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'enrol-title' },
    h('h1', { id: 'enrol-title' }, 'Set up two-step sign-in'),
    h('p', {}, 'Your organisation asks for a second step at sign-in. Add this key to an authenticator app, then enter the code it shows.'),
    h('p', {}, 'Key: ', h('code', { class: 'secret', 'data-testid': 'totp-secret' }, secret.secret)),
    h('details', {}, h('summary', {}, 'Setup link for apps that accept one'), h('code', { class: 'wrap' }, secret.otpauthUri)),
    status,
    field('Code from your authenticator app', code),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    request<Started>('POST', '/auth/totp/confirm', { code: code.value.trim() })
      .then((r) => {
        adoptCsrf(r.csrfToken);
        showRecoveryCodes(main, r.recoveryCodes ?? [], done);
      })
      .catch((err: unknown) => {
        submit.disabled = false;
        fill(status, notice('error', describe(err)));
      });
  });
  fill(main, form);
  code.focus();
}

/** Shown once, right after enrolment: the gateway keeps only their hashes. */
export function showRecoveryCodes(main: HTMLElement, codes: readonly string[], done: () => void): void {
  const text = codes.join('\n');
  const copied = h('span', { role: 'status', class: 'hint' });
  const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy codes');
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(text).then(
      () => (copied.textContent = 'Copied.'),
      () => (copied.textContent = 'Copying failed: select the codes and copy them by hand.'),
    );
  });
  const go = h('button', { type: 'button' }, 'I have saved them — continue');
  go.addEventListener('click', done);
  fill(
    main,
    h(
      'section',
      { class: 'card narrow', 'aria-labelledby': 'rc-title' },
      h('h1', { id: 'rc-title' }, 'Your recovery codes'),
      h('p', {}, 'Each code signs you in once if you lose your authenticator. They are shown only now: keep them somewhere safe.'),
      h('pre', { class: 'codes', 'data-testid': 'recovery-codes', tabindex: 0, 'aria-label': 'Recovery codes' }, text),
      h('div', { class: 'actions' }, copy, go, copied),
    ),
  );
  go.focus();
}

// Development OpenID Connect provider (npm oidc-provider) for `make run` and the tests. NEVER production.
// Accounts are the demo citizens (accounts.json, written by `manage.py devidp_accounts` from demo.data);
// any other valid national register or BIS number logs in too, as a first-time citizen without a name,
// so a first visit and activation can be tried from scratch.
import fs from 'node:fs';
import http from 'node:http';
import { parse } from 'node:querystring';
import Provider from 'oidc-provider';

const env = process.env;
const issuer = env.DEVIDP_ISSUER || 'http://127.0.0.1:9000';
const port = Number(env.DEVIDP_PORT || new URL(issuer).port || 9000);
const portal = (env.PUBLIC_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
// The portal may be browsed as 127.0.0.1 or localhost: register both spellings.
const portals = [...new Set([portal, portal.replace('//127.0.0.1', '//localhost'), portal.replace('//localhost', '//127.0.0.1')])];
const accounts = JSON.parse(fs.readFileSync(env.DEVIDP_ACCOUNTS || new URL('accounts.json', import.meta.url), 'utf8'));
const byNumber = Object.fromEntries(accounts.map((a) => [a.national_number, a]));
// A Belgian national register (or BIS) number: 11 digits, the last two 97 minus the first nine mod 97
// (with a 2 in front of the nine for people born from 2000).
const validNumber = (n) => {
  if (!/^\d{11}$/.test(n)) return false;
  const base = BigInt(n.slice(0, 9));
  const check = Number(n.slice(9));
  return check === 97 - Number(base % 97n) || check === 97 - Number((2000000000n + base) % 97n);
};
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;background:#0b4f8a;color:#fff;border:0;border-radius:4px}input{font:inherit;padding:.4rem}:focus-visible{outline:3px solid #ffbf47;box-shadow:0 0 0 5px #000}</style></head><body><main>${body}</main></body></html>`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env.OIDC_RP_CLIENT_ID || 'ebox-portal',
    client_secret: env.OIDC_RP_CLIENT_SECRET || 'development-only-not-a-secret',
    redirect_uris: portals.map((p) => `${p}/oidc/callback/`),
    post_logout_redirect_uris: portals.flatMap((p) => [`${p}/`, `${p}/logged-out/`]),
    client_name: 'eBox',
  }],
  async findAccount(ctx, id) {
    const a = byNumber[id] || (validNumber(id) ? { given_name: '', family_name: '', email: '' } : undefined);
    return a && { accountId: id, claims: () => ({ sub: id, national_number: id, given_name: a.given_name, family_name: a.family_name, email: a.email || undefined }) };
  },
  claims: { openid: ['sub'], profile: ['given_name', 'family_name', 'national_number'], email: ['email'] },
  pkce: { required: () => true },
  // The portal is first-party: no consent screen, every requested scope is granted.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: {
    // The portal already asked (its logout button is a POST): sign out without a second question.
    logoutSource: async (ctx, form) => { ctx.body = page('Signing out', `${form.replace('</form>', '<input type="hidden" name="logout" value="yes"><button type="submit">Sign out</button></form>')}<script>document.forms[0].submit()</script>`); },
    postLogoutSuccessSource: async (ctx) => { ctx.body = page('Signed out', `<h1>Signed out</h1><p><a href="${portal}/">Back to eBox</a></p>`); },
  } },
  renderError: async (ctx, out) => { ctx.type = 'html'; ctx.body = page('Login error', `<h1>Login error</h1><p>${esc(out.error)}: ${esc(out.error_description || '')}</p><p><a href="${portal}/">Back to eBox</a></p>`); },
  cookies: { keys: [env.DEVIDP_COOKIE_KEY || 'development-only-cookie-key'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

const callback = provider.callback();
http.createServer(async (req, res) => {
  const match = req.url.match(/^\/interaction\/([\w-]+)$/);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    let error = '';
    if (req.method === 'POST') {
      const body = parse(await new Promise((ok) => { let d = ''; req.on('data', (c) => { d += c; }); req.on('end', () => ok(d)); }));
      const number = String(body.national_number || '').replace(/\D/g, '');
      if (byNumber[number] || validNumber(number)) return provider.interactionFinished(req, res, { login: { accountId: number } }, { mergeWithLastSubmission: false });
      error = `<p role="alert" id="nn-error">${esc(number || 'This')} is not a valid national number (11 digits, checksum mod 97).</p>`;
    }
    const choices = accounts.map((a) => `<li><button type="submit" name="national_number" value="${esc(a.national_number)}">${esc(a.given_name)} ${esc(a.family_name)} (${esc(a.national_number)})</button></li>`).join('');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page('Development identity provider', `<h1>Development identity provider</h1><p>Not a real login: choose a demo citizen, or type any valid national number (a first-time citizen). (${esc(details.params.client_id)})</p>
<form method="post"><ul>${choices}</ul></form>${error}<form method="post"><p><label for="nn">National number</label> <input id="nn" name="national_number" inputmode="numeric" autocomplete="off"${error ? ' aria-invalid="true" aria-describedby="nn-error"' : ''}> <button type="submit">Log in</button></p></form>`));
  } catch (err) {
    res.statusCode = 400;
    res.end(page('Login error', `<h1>Login error</h1><p>${esc(err.message)}</p><p><a href="${portal}/">Back to eBox</a></p>`));
  }
}).listen(port, '127.0.0.1', () => console.log(`development IdP at ${issuer} for ${portal}`));

// Drives /docs's real "Try it out" in Debian's Chromium, for
// crates/itau-codigo-server/tests/browser.rs (which checks what this prints).
//
//   node try-it-out.mjs DOCS_URL USERNAME PASSWORD CODIGO_CONTA
//
// Enters the credentials under "Authorize", opens the consulta operation, clicks
// "Try it out", puts the account code in the request body, clicks "Execute" and
// prints one JSON line: the status and body the page shows, the request the page sent,
// and every console error and Content-Security-Policy violation seen on the way.
import { chromium } from "playwright-core";

const [docsUrl, username, password, codigoConta] = process.argv.slice(2);
if (!codigoConta) {
  console.error("usage: node try-it-out.mjs DOCS_URL USERNAME PASSWORD CODIGO_CONTA");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // The flags tests/browser.rs starts Chromium with (one list, passed down).
  args: (process.env.CHROMIUM_FLAGS || "--no-sandbox").split(" ").filter(Boolean),
});
const result = { consoleErrors: [], cspViolations: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  page.on("console", (message) => {
    if (message.type() === "error") result.consoleErrors.push(message.text());
  });
  page.on("request", (request) => {
    if (request.method() === "POST") {
      result.requests.push({ url: request.url(), headers: request.headers(), body: request.postData() });
    }
  });
  // Runs through the DevTools protocol, not as page script, so the page's CSP (which
  // it observes) does not apply to it.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  await page.goto(`${docsUrl}#/consulta/consultaCliente`);

  await page.locator("button.authorize").first().click();
  const modal = page.locator(".modal-ux");
  for (const [name, value] of [["userName", username], ["password", password]]) {
    // The container whose heading is exactly the scheme's name (the descriptions
    // mention the other scheme).
    const heading = page.locator("h4 code", { hasText: new RegExp(`^${name}$`) });
    const section = modal.locator(".auth-container", { has: heading });
    await section.locator("input").fill(value);
    await section.locator("button.modal-btn.authorize").click();
  }
  await modal.locator("button.btn-done").first().click();

  const operation = page.locator("#operations-consulta-consultaCliente");
  await operation.locator("button.try-out__btn").click();
  await operation.locator("textarea.body-param__text").fill(JSON.stringify({ codigo_conta: codigoConta }));
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 15000 });
  result.status = (await status.innerText()).trim();
  result.body = await operation.locator(".live-responses-table .response-col_description pre").first().innerText();
  result.cspViolations = await page.evaluate(() => window.__cspViolations);
  if (process.env.TRY_IT_OUT_SCREENSHOT) {
    await page.screenshot({ path: process.env.TRY_IT_OUT_SCREENSHOT, fullPage: false });
  }
} catch (error) {
  result.error = String(error && error.stack ? error.stack : error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

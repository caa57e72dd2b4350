// Validates the token of a key calmctl delivered with SAP's own token library for Node,
// @sap/xssec, as a managed system would: fetch a client-credentials token with the key, then
// create a security context from it (expiry, audience, and the signature against the keys the
// library fetches from https://<uaa.uaadomain>/token_keys). A copy of the token with one claim
// changed must be refused. Prints one JSON line per outcome; exits 1 on any surprise.
//
// Usage: node xssec_validate.js <delivered-key.json>   (NODE_PATH names the installed package)
'use strict';

const fs = require('fs');
const { XsuaaService, errors } = require('@sap/xssec');

async function main() {
    const key = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const credentials = key.uaa ?? key;
    const service = new XsuaaService(credentials);
    const fetched = await service.fetchClientCredentialsToken();
    const context = await service.createSecurityContext(fetched.access_token);
    const token = context.token;
    console.log(JSON.stringify({
        validated: true,
        clientId: token.clientId,
        zid: token.zid,
        subaccountId: token.subAccountId,
        serviceInstanceId: token.serviceInstanceId,
        grantType: token.grantType,
        issuer: token.issuer,
        scopes: token.scopes,
    }));

    const [header, payload, signature] = fetched.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    claims.scope = [...claims.scope, `${credentials.xsappname}.Admin`];
    const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
    try {
        await service.createSecurityContext(forged);
        console.log(JSON.stringify({ forgedAccepted: true }));
        process.exit(1);
    } catch (e) {
        console.log(JSON.stringify({
            forgedRefused: e instanceof errors.InvalidTokenSignatureError,
            error: e.constructor.name,
        }));
    }
}

main().catch((e) => {
    console.error(`${e.constructor.name}: ${e.message}`);
    process.exit(1);
});

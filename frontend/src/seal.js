// Sealing a bid in the browser (docs/sealed-bids.md, "Sealing in the browser").
//
// Everything secret stays in this page: the PKCS#12 file and its password, the private signing key (imported
// into WebCrypto, not extractable), the bid package and the AES content key. The only upload is the sealed
// envelope: a CMS AuthEnvelopedData (RFC 5083/5084, AES-256-GCM) whose content is a CMS SignedData by the
// bidder's signing certificate over the bid package (a ZIP with bid.json first), the content key wrapped with
// RSA-OAEP-SHA256 to the bidder's own encryption certificate and to each certificate of the tender's sealing
// info (the escrow opening certificate). This is what `tenderhall bid seal` makes (tenderhall/bids/client.py).
//
// pkijs reads the PKCS#12 and makes the SignedData; it has no AuthEnvelopedData, so that structure is written
// here with asn1js, and WebCrypto does AES-GCM and RSA-OAEP.

import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { zipSync, strToU8 } from "fflate";

const OID = {
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  authEnvelopedData: "1.2.840.113549.1.9.16.1.23",
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsaesOaep: "1.2.840.113549.1.1.7",
  mgf1: "1.2.840.113549.1.1.8",
  sha256: "2.16.840.1.101.3.4.2.1",
  aes256Gcm: "2.16.840.1.101.3.4.1.46",
  ecPublicKey: "1.2.840.10045.2.1",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  localKeyId: "1.2.840.113549.1.9.21",
};
const ZIP_DATE = new Date(1980, 0, 1, 0, 0, 0); // every entry is dated like the Python client's

// pkijs needs a crypto engine; in the page it is the browser's own WebCrypto.
pkijs.setEngine("webcrypto", new pkijs.CryptoEngine({ name: "webcrypto", crypto: self.crypto }));

// --- reading the bidder's files -----------------------------------------------------------------------------

/** The signing key (a non-extractable WebCrypto key) and certificate from a password-protected PKCS#12. */
async function readPkcs12(bytes, password) {
  const passwordBytes = strToU8(password).buffer; // PKCS#12 passwords: UTF-8 with PBES2 (RFC 8018)
  let pfx;
  try {
    pfx = pkijs.PFX.fromBER(bytes);
  } catch (error) {
    throw new Error("The key file is not a PKCS#12 (.p12/.pfx) file.");
  }
  try {
    await pfx.parseInternalValues({ password: passwordBytes, checkIntegrity: true });
    const safe = pfx.parsedValue.authenticatedSafe;
    await safe.parseInternalValues({
      safeContents: safe.safeContents.map(() => ({ password: passwordBytes })),
    });
  } catch (error) {
    throw new Error("The PKCS#12 file cannot be opened with this password.");
  }
  const keys = [];
  const certificates = [];
  for (const contents of pfx.parsedValue.authenticatedSafe.parsedValue.safeContents) {
    for (const bag of contents.value.safeBags) {
      if (bag.bagId === OID.shroudedKeyBag) {
        await bag.bagValue.parseInternalValues({ password: passwordBytes });
        keys.push({ info: bag.bagValue.parsedValue, keyId: localKeyId(bag) });
      } else if (bag.bagId === OID.keyBag) {
        keys.push({ info: bag.bagValue, keyId: localKeyId(bag) });
      } else if (bag.bagId === OID.certBag) {
        certificates.push({ certificate: bag.bagValue.parsedValue, keyId: localKeyId(bag) });
      }
    }
  }
  if (keys.length !== 1) {
    throw new Error(`The PKCS#12 file must hold exactly one private key (it holds ${keys.length}).`);
  }
  const [key] = keys;
  // the certificate of the key: the one with the same localKeyId, else the first that is not a CA
  const match =
    certificates.find((c) => key.keyId && c.keyId === key.keyId) ||
    certificates.find((c) => !isCa(c.certificate));
  if (!match) throw new Error("The PKCS#12 file holds no certificate for its key.");
  return { privateKey: await importSigningKey(key.info), certificate: match.certificate };
}

function localKeyId(bag) {
  const attribute = (bag.bagAttributes || []).find((a) => a.type === OID.localKeyId);
  return attribute ? hex(attribute.values[0].valueBlock.valueHexView) : null;
}

function isCa(certificate) {
  const extension = (certificate.extensions || []).find((e) => e.extnID === "2.5.29.19");
  return Boolean(extension && extension.parsedValue && extension.parsedValue.cA);
}

/** Import the PKCS#8 key into WebCrypto for signing only; it cannot be exported again. */
async function importSigningKey(privateKeyInfo) {
  const der = privateKeyInfo.toSchema().toBER(false);
  const algorithm = privateKeyInfo.privateKeyAlgorithm.algorithmId;
  if (algorithm === OID.rsaEncryption) {
    return crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, [
      "sign",
    ]);
  }
  if (algorithm === OID.ecPublicKey) {
    const curves = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" };
    const curve = curves[privateKeyInfo.privateKeyAlgorithm.algorithmParams.getValue()];
    if (!curve) throw new Error("The signing key's elliptic curve is not supported.");
    return crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: curve }, false, ["sign"]);
  }
  throw new Error("The signing key is neither RSA nor EC.");
}

/** The first certificate of a PEM text (or of DER bytes). */
function readCertificate(bytes, what) {
  const text = new TextDecoder().decode(bytes);
  const match = text.match(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/);
  const der = match ? base64Decode(match[1].replace(/\s+/g, "")) : new Uint8Array(bytes);
  try {
    return pkijs.Certificate.fromBER(der);
  } catch (error) {
    throw new Error(`The ${what} is not a certificate (PEM or DER).`);
  }
}

// --- the bid package ----------------------------------------------------------------------------------------

/** RFC 8785 canonical JSON for the flat form of bid.json: sorted keys, no spaces. */
function canonicalJson(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

/** The ZIP: bid.json first, then the documents by name, like `bid_package` in the Python client. */
function bidPackage(bidJson, documents) {
  const entries = { "bid.json": strToU8(canonicalJson(bidJson)) };
  for (const { name, bytes } of [...documents].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (name === "bid.json" || name in entries) {
      throw new Error(`Two bid files would be named "${name}" in the package; rename one.`);
    }
    entries[name] = bytes;
  }
  return zipSync(entries, { level: 9, mtime: ZIP_DATE });
}

// --- signing and sealing ------------------------------------------------------------------------------------

/** The DER ContentInfo of an attached CMS SignedData over the package (SHA-256, signer certificate inside). */
async function signPackage(packageBytes, signer) {
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: OID.data,
      eContent: new asn1js.OctetString({ valueHex: packageBytes }),
    }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({
          issuer: signer.certificate.issuer,
          serialNumber: signer.certificate.serialNumber,
        }),
      }),
    ],
    certificates: [signer.certificate],
  });
  await signed.sign(signer.privateKey, 0, "SHA-256");
  const info = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER(false));
}

function sha256Identifier() {
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256, algorithmParams: new asn1js.Null() });
}

/** A KeyTransRecipientInfo: the content key wrapped with RSA-OAEP-SHA256 (MGF1-SHA256), by issuer+serial. */
async function recipientInfo(certificate, contentKey) {
  const spki = certificate.subjectPublicKeyInfo;
  if (spki.algorithm.algorithmId !== OID.rsaEncryption) {
    throw new Error("Recipient certificates must carry an RSA key.");
  }
  const publicKey = await crypto.subtle.importKey(
    "spki",
    spki.toSchema().toBER(false),
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    ["encrypt"],
  );
  const wrapped = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, publicKey, contentKey);
  const oaep = new pkijs.RSAESOAEPParams({
    hashAlgorithm: sha256Identifier(),
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.mgf1,
      algorithmParams: sha256Identifier().toSchema(),
    }),
  });
  return new pkijs.RecipientInfo({
    variant: 1,
    value: new pkijs.KeyTransRecipientInfo({
      version: 0,
      rid: new pkijs.IssuerAndSerialNumber({ issuer: certificate.issuer, serialNumber: certificate.serialNumber }),
      keyEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: OID.rsaesOaep,
        algorithmParams: oaep.toSchema(),
      }),
      encryptedKey: new asn1js.OctetString({ valueHex: wrapped }),
    }),
  });
}

/** The DER AuthEnvelopedData (AES-256-GCM, 12-byte nonce, 16-byte tag, no authenticated attributes) of the
 * plaintext, to every recipient. The content key exists only inside this function. */
async function authEnvelope(plaintext, recipients) {
  const aesKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const contentKey = new Uint8Array(await crypto.subtle.exportKey("raw", aesKey));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, tagLength: 128 }, aesKey, plaintext),
  );
  const recipientInfos = [];
  for (const certificate of recipients) recipientInfos.push(await recipientInfo(certificate, contentKey));
  contentKey.fill(0);
  const ciphertext = sealed.slice(0, sealed.length - 16); // WebCrypto appends the tag
  const tag = sealed.slice(sealed.length - 16);
  const authEnvelopedData = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }), // version
      new asn1js.Set({ value: recipientInfos.map((r) => r.toSchema()) }),
      new asn1js.Sequence({
        // EncryptedContentInfo
        value: [
          new asn1js.ObjectIdentifier({ value: OID.data }), // as `openssl cms -encrypt` writes it
          new asn1js.Sequence({
            value: [
              new asn1js.ObjectIdentifier({ value: OID.aes256Gcm }),
              new asn1js.Sequence({
                // GCMParameters (RFC 5084)
                value: [new asn1js.OctetString({ valueHex: nonce }), new asn1js.Integer({ value: 16 })],
              }),
            ],
          }),
          new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ciphertext }), // [0] IMPLICIT
        ],
      }),
      new asn1js.OctetString({ valueHex: tag }), // mac
    ],
  });
  const contentInfo = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.authEnvelopedData }),
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [authEnvelopedData] }),
    ],
  });
  return new Uint8Array(contentInfo.toBER(false));
}

// --- small helpers ------------------------------------------------------------------------------------------

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64Decode(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function fileBytes(input) {
  const file = input.files && input.files[0];
  return file ? new Uint8Array(await file.arrayBuffer()) : null;
}

async function apiJson(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const reason = body.details && body.details.reason ? ` (${body.details.reason})` : "";
    throw new Error(`${body.message || body.detail || response.statusText}${reason}`);
  }
  return body;
}

// --- the page -----------------------------------------------------------------------------------------------

async function sealAndSubmit(form, show) {
  const page = form.dataset;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const field = (name) => form.elements.namedItem(name);

  show("Reading the key file…");
  const p12 = await fileBytes(field("pkcs12"));
  if (!p12) throw new Error("Choose the PKCS#12 file with your signing key.");
  const signer = await readPkcs12(p12, field("pkcs12_password").value);
  const encryptionPem = await fileBytes(field("encryption_certificate"));
  if (!encryptionPem) throw new Error("Choose your encryption certificate.");
  const encryptionCertificate = readCertificate(encryptionPem, "encryption certificate");

  show("Fetching the tender's sealing certificates…");
  const sealing = await apiJson(await fetch(page.sealingUrl, { credentials: "same-origin" }));
  const escrow = sealing.certificates.map((c) =>
    readCertificate(strToU8(c.certificate_pem), `${c.name} certificate`),
  );

  show("Building and signing the bid package…");
  const bidJson = { tender: page.tenderCode, lot: page.lotCode, price: field("price").value.trim() };
  const duration = field("duration_days").value.trim();
  if (duration) bidJson.duration_days = Number.parseInt(duration, 10);
  const remarks = field("remarks").value.trim();
  if (remarks) bidJson.remarks = remarks;
  const documents = [];
  for (const file of field("documents").files) {
    documents.push({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  }
  const signed = await signPackage(bidPackage(bidJson, documents), signer);

  show("Sealing…");
  const envelope = await authEnvelope(signed, [encryptionCertificate, ...escrow]);
  const envelopeSha256 = hex(await crypto.subtle.digest("SHA-256", envelope));

  show("Submitting the sealed envelope…");
  // The envelope is the request body and the bid's fields the query: the server streams the body to storage
  // with no form to parse (POST /api/v1/bids/lots/{id}/envelopes).
  const query = new URLSearchParams({
    entity_id: field("entity_id").value,
    bond_amount: field("bond_amount").value.trim() || "0",
    bond_payer_account: field("bond_payer_account").value.trim(),
    bond_guarantee_reference: field("bond_guarantee_reference").value.trim(),
  });
  const bid = await apiJson(
    await fetch(`${page.submitUrl}?${query}`, {
      method: "POST",
      body: envelope,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/cms" },
    }),
  );
  if (bid.sha256 !== envelopeSha256) {
    throw new Error("The platform's SHA-256 of the envelope is not the one computed here.");
  }
  const receiptUrl = page.receiptUrlTemplate.replace("{id}", String(bid.id));
  const bundle = await apiJson(await fetch(receiptUrl, { credentials: "same-origin" }));
  return { bid, bundle, envelope };
}

function download(link, bytes, name, type) {
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([bytes], { type }));
  link.download = name;
  link.hidden = false;
}

function main() {
  const form = document.getElementById("seal-form");
  if (!form) return;
  const status = document.getElementById("seal-status");
  const show = (text) => {
    status.textContent = text;
  };
  if (!window.isSecureContext || !crypto.subtle) {
    show("This page needs a secure context (HTTPS or localhost) for the browser's cryptography.");
    form.querySelector("button[type=submit]").disabled = true;
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault(); // the form itself is never posted: only the envelope leaves the page
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.classList.remove("error");
    try {
      const { bid, bundle, envelope } = await sealAndSubmit(form, show);
      document.getElementById("receipt-token").textContent = bid.token;
      document.getElementById("receipt-sha256").textContent = bid.sha256;
      document.getElementById("receipt-time").textContent = bid.submitted_at;
      const json = strToU8(JSON.stringify(bundle, null, 2) + "\n");
      download(document.getElementById("receipt-download"), json, `receipt-${bid.token}.json`, "application/json");
      download(document.getElementById("envelope-download"), envelope, `bid-${bid.token}.p7m`, "application/pkcs7-mime");
      document.getElementById("seal-receipt").hidden = false;
      show("Submitted. Keep the receipt and the envelope together.");
    } catch (error) {
      status.classList.add("error");
      show(error && error.message ? error.message : String(error));
    } finally {
      button.disabled = false;
    }
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();

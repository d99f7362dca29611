//! Sprig's cryptographic functions: `derivePassword encryptAES decryptAES genPrivateKey genCA
//! genSelfSignedCert genSignedCert buildCustomCert`.
//!
//! Outputs use Sprig's formats exactly (PEM blocks, PKCS #1 RSA keys, X.509 v3 certificates
//! with Go's extensions). Key generation is real and slow, so every key is charged a large
//! share of the render's step budget: a template can only make a handful.

use std::net::IpAddr;

use aes::Aes256;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use base64::Engine as _;
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{Generate, PrivateKey as RsaPrivateKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

use super::super::value::{Struct, Value};
use super::args::{int_at, str_arg, wrong_type};
use super::encoding::STANDARD;
use super::{FuncCtx, FuncError};

/// Steps charged for generating an RSA key of 2048 bits (a tenth of the default budget).
const RSA_2048_STEPS: u64 = 1_000_000;
/// Steps for a 4096-bit RSA key, about four times the work of a 2048-bit one.
const RSA_4096_STEPS: u64 = 3_000_000;
/// Steps for DSA parameters and a key: the prime search can take seconds.
const DSA_STEPS: u64 = 3_000_000;
/// Steps for an elliptic curve key, which is cheap.
const EC_STEPS: u64 = 10_000;
/// Steps for one scrypt derivation (32 MiB of memory, a tenth of a second).
const SCRYPT_STEPS: u64 = 500_000;
/// Steps for one RSA signature.
const SIGN_STEPS: u64 = 20_000;

fn exec(msg: impl Into<String>) -> FuncError {
    FuncError::exec(msg)
}

// ---------------------------------------------------------------------------------------------
// derivePassword: the Master Password algorithm (Maarten Billemont's, as Sprig implements it).

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// The templates of each password type; the site's seed picks one.
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// The characters a template letter stands for.
fn template_chars(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// A `uint32` parameter: Go converts a non-negative integer constant, truncating it to 32
/// bits, and refuses negative numbers, strings and nil.
fn uint32_arg(v: &Value) -> Result<u32, FuncError> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as u32),
        Value::Float(x) if *x >= 0.0 && x.fract() == 0.0 && *x < 1.8e19 => Ok(*x as u64 as u32),
        Value::Nil => Err(exec("cannot assign nil to uint32")),
        Value::Int(_) | Value::Float(_) => Err(exec(format!("expected unsigned integer; found {}", debug_num(v)))),
        other => Err(wrong_type("uint32", other)),
    }
}

fn debug_num(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(x) => x.to_string(),
        _ => String::new(),
    }
}

/// The seed text followed by a length-prefixed name, as the algorithm's salts are built.
fn scoped(name: &str) -> Vec<u8> {
    let mut buf = MASTER_PASSWORD_SEED.to_vec();
    buf.extend_from_slice(&(name.len() as u32).to_be_bytes());
    buf.extend_from_slice(name.as_bytes());
    buf
}

/// `derivePassword counter type password user site`
pub(super) fn derive_password(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let counter = uint32_arg(&a[0])?;
    let kind = str_arg(&a[1])?;
    let (password, user, site) = (str_arg(&a[2])?, str_arg(&a[3])?, str_arg(&a[4])?);
    let Some(templates) = password_templates(kind) else {
        return Ok(Value::string(format!("cannot find password template {kind}")));
    };
    ctx.charge(SCRYPT_STEPS + (password.len() + user.len() + site.len()) as u64 / 16)?;
    let params = scrypt::Params::new(15, 8, 2).map_err(|e| exec(e.to_string()))?;
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &scoped(user), &params, &mut key).map_err(|e| exec(e.to_string()))?;
    let mut mac = <Hmac<Sha256>>::new_from_slice(&key).map_err(|e| exec(e.to_string()))?;
    mac.update(&scoped(site));
    mac.update(&counter.to_be_bytes());
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    let out: String = template
        .bytes()
        .zip(&seed[1..])
        .map(|(class, &s)| {
            let chars = template_chars(class);
            char::from(chars[usize::from(s) % chars.len()])
        })
        .collect();
    Ok(Value::string(out))
}

// ---------------------------------------------------------------------------------------------
// encryptAES / decryptAES: AES-256-CBC with PKCS #7 padding and a random IV in front, base64.

/// The password as an AES-256 key: its first 32 bytes, zero-padded.
fn aes_key(password: &str) -> Aes256 {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    Aes256::new(&key.into())
}

/// `encryptAES password plaintext`
pub(super) fn encrypt_aes(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (password, plain) = (str_arg(&a[0])?, str_arg(&a[1])?);
    if plain.is_empty() {
        return Ok(Value::str(""));
    }
    let padded_len = (plain.len() / 16 + 1) * 16;
    ctx.check_len((padded_len + 16) / 3 * 4 + 4)?;
    ctx.charge(padded_len as u64 / 16)?;
    let cipher = aes_key(password);
    let mut out = vec![0u8; 16 + padded_len];
    getrandom::fill(&mut out[..16]).map_err(|e| exec(format!("no randomness: {e}")))?;
    out[16..16 + plain.len()].copy_from_slice(plain.as_bytes());
    let pad = (padded_len - plain.len()) as u8;
    out[16 + plain.len()..].fill(pad);
    for i in (16..out.len()).step_by(16) {
        let (prev, rest) = out.split_at_mut(i);
        let block = &mut rest[..16];
        block.iter_mut().zip(&prev[i - 16..]).for_each(|(b, p)| *b ^= p);
        cipher.encrypt_block(as_block(block));
    }
    Ok(Value::string(STANDARD.encode(out)))
}

/// A 16-byte slice as a cipher block.
fn as_block(b: &mut [u8]) -> &mut aes::Block {
    <&mut [u8; 16]>::try_from(b).expect("blocks are 16 bytes").into()
}

/// `decryptAES password ciphertext`. Like Sprig it does not check the padding; inputs that
/// make Go panic (too short, a pad longer than the text) are errors.
pub(super) fn decrypt_aes(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (password, crypt64) = (str_arg(&a[0])?, str_arg(&a[1])?);
    if crypt64.is_empty() {
        return Ok(Value::str(""));
    }
    let text: String = crypt64.chars().filter(|&c| c != '\r' && c != '\n').collect();
    let data = STANDARD.decode(text.as_bytes()).map_err(|_| exec(base64_error(&text)))?;
    if data.len() < 16 {
        return Err(exec(format!("runtime error: slice bounds out of range [:16] with capacity {}", data.len())));
    }
    let (iv, body) = data.split_at(16);
    if !body.len().is_multiple_of(16) {
        return Err(exec("crypto/cipher: input not full blocks"));
    }
    if body.is_empty() {
        return Err(exec("runtime error: index out of range [-1]"));
    }
    ctx.charge(body.len() as u64 / 16)?;
    let cipher = aes_key(password);
    let mut plain = body.to_vec();
    for (i, block) in plain.chunks_mut(16).enumerate() {
        cipher.decrypt_block(as_block(block));
        let prev = if i == 0 { iv } else { &body[(i - 1) * 16..i * 16] };
        block.iter_mut().zip(prev).for_each(|(b, p)| *b ^= p);
    }
    let pad = usize::from(plain[plain.len() - 1]);
    if pad > plain.len() {
        return Err(exec(format!("runtime error: slice bounds out of range [:{}]", plain.len() as i64 - pad as i64)));
    }
    plain.truncate(plain.len() - pad);
    Ok(Value::string(String::from_utf8_lossy(&plain).into_owned()))
}

/// Go's message for undecodable base64: the offset of the first bad quantum.
fn base64_error(text: &str) -> String {
    let at = match STANDARD.decode(text.as_bytes()) {
        Err(base64::DecodeError::InvalidByte(i, _)) => i,
        Err(base64::DecodeError::InvalidLastSymbol { offset, .. }) => offset,
        _ => text.len() / 4 * 4,
    };
    format!("illegal base64 data at input byte {at}")
}

// ---------------------------------------------------------------------------------------------
// DER and PEM.

/// One DER element: tag, definite length, content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len = n.to_be_bytes();
        let skip = len.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (len.len() - skip) as u8);
        out.extend_from_slice(&len[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already encoded elements.
fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A non-negative INTEGER from big-endian magnitude bytes.
fn uint(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let mut body = Vec::with_capacity(be.len() - skip + 1);
    if be.get(skip).is_none_or(|&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(&be[skip..]);
    tlv(0x02, &body)
}

/// A BIT STRING with no unused bits.
fn bits(bytes: &[u8]) -> Vec<u8> {
    tlv(0x03, &[&[0u8][..], bytes].concat())
}

/// Go's `pem.Encode`: base64 in lines of 64 characters.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Go's `pem.Decode`, reduced to what the functions need: the bytes of the first well-formed
/// block (a BEGIN line at the start of a line, headers skipped, a matching END line).
fn pem_decode(text: &[u8]) -> Option<Vec<u8>> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut from = 0;
    while let Some(off) = find(&text[from..], BEGIN) {
        let start = from + off;
        from = start + BEGIN.len();
        if start > 0 && text[start - 1] != b'\n' {
            continue;
        }
        if let Some(der) = pem_block(&text[from..]) {
            return Some(der);
        }
    }
    None
}

/// The block after "-----BEGIN ": its type line, optional headers, base64 body and END line.
fn pem_block(rest: &[u8]) -> Option<Vec<u8>> {
    let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let label = rest[..line_end].trim_ascii_end().strip_suffix(b"-----")?;
    let body_start = (line_end + 1).min(rest.len());
    let mut end_line = b"-----END ".to_vec();
    end_line.extend_from_slice(label);
    end_line.extend_from_slice(b"-----");
    let body = &rest[body_start..];
    let end = if body.starts_with(&end_line) { 0 } else { find(body, &[b"\n", &end_line[..]].concat())? + 1 };
    let mut content = &body[..end];
    if let Some(blank) = find(content, b"\n\n").filter(|_| has_headers(content)) {
        content = &content[blank + 2..];
    }
    let b64: Vec<u8> = content.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

/// Whether a PEM body starts with "Key: value" headers.
fn has_headers(content: &[u8]) -> bool {
    let first = content.split(|&b| b == b'\n').next().unwrap_or_default();
    first.contains(&b':')
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// genPrivateKey

fn rng_error(e: impl std::fmt::Display) -> FuncError {
    exec(format!("failed to generate private key: {e}"))
}

fn rsa_key(ctx: &mut FuncCtx, bits: usize) -> Result<RsaPrivateKey, FuncError> {
    ctx.charge(if bits > 2048 { RSA_4096_STEPS } else { RSA_2048_STEPS })?;
    RsaPrivateKey::new(&mut getrandom::SysRng, bits).map_err(|e| exec(format!("error generating rsa key: {e}")))
}

/// A key's PKCS #1 DER form.
fn pkcs1_der(key: &RsaPrivateKey) -> Result<Vec<u8>, FuncError> {
    Ok(key.to_pkcs1_der().map_err(|e| exec(format!("error pem-encoding key: {e}")))?.as_bytes().to_vec())
}

/// Go's DSA private key layout (OpenSSL's): version 0, then p, q, g, y and x.
fn dsa_der(ctx: &mut FuncCtx) -> Result<Vec<u8>, FuncError> {
    ctx.charge(DSA_STEPS)?;
    let rng = &mut getrandom::SysRng;
    let params = dsa::Components::try_generate_from_rng_with_key_size(rng, dsa::KeySize::DSA_2048_256)
        .map_err(|e| exec(format!("failed to generate dsa params: {e}")))?;
    let key = dsa::SigningKey::try_generate_from_rng_with_components(rng, params).map_err(rng_error)?;
    let public = key.verifying_key();
    let c = public.components();
    let ints = [
        c.p().to_be_bytes(),
        c.q().to_be_bytes(),
        c.g().to_be_bytes(),
        public.y().to_be_bytes(),
        key.x().to_be_bytes(),
    ];
    let mut body = uint(&[]);
    for i in &ints {
        body.extend(uint(i));
    }
    Ok(tlv(0x30, &body))
}

fn ec_der(ctx: &mut FuncCtx) -> Result<Vec<u8>, FuncError> {
    ctx.charge(EC_STEPS)?;
    let key = p256::SecretKey::try_generate_from_rng(&mut getrandom::SysRng).map_err(rng_error)?;
    Ok(key.to_sec1_der().map_err(rng_error)?.to_vec())
}

/// `genPrivateKey type`: a PEM private key; "" and "rsa" make 4096-bit RSA, "dsa" DSA with
/// 2048-bit parameters, "ecdsa" P-256. Other types return a message instead of failing.
pub(super) fn gen_private_key(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let typ = str_arg(&a[0])?;
    let pem = match typ {
        "" | "rsa" => pem_encode("RSA PRIVATE KEY", &pkcs1_der(&rsa_key(ctx, 4096)?)?),
        "dsa" => pem_encode("DSA PRIVATE KEY", &dsa_der(ctx)?),
        "ecdsa" => pem_encode("EC PRIVATE KEY", &ec_der(ctx)?),
        _ => format!("Unknown type {typ}"),
    };
    Ok(Value::string(pem))
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// Sprig's `certificate` struct. Values have no struct type, so it is a map with the same
/// fields: `.Cert`, `.Key` and `toJson` behave as in Go.
fn certificate(cert: String, key: String) -> Value {
    Value::structure(Struct {
        type_name: "sprig.certificate",
        pointer: false,
        fields: vec![("Cert", Value::string(cert)), ("Key", Value::string(key))],
        printed: 2,
        display: None,
        json: None,
    })
}

/// The two string fields of a `certificate` argument.
fn certificate_arg(v: &Value) -> Result<(String, String), FuncError> {
    let st = match v {
        Value::Struct(st) if st.type_name == "sprig.certificate" => st,
        Value::Nil => return Err(exec("cannot assign nil to sprig.certificate")),
        other => return Err(wrong_type("sprig.certificate", other)),
    };
    let field = |name: &str| match st.get(name) {
        Some(Value::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    Ok((field("Cert"), field("Key")))
}

mod oid {
    pub const SHA256_WITH_RSA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    pub const RSA_ENCRYPTION: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    pub const COMMON_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    pub const KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x0f];
    pub const EXT_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x25];
    pub const BASIC_CONSTRAINTS: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x13];
    pub const SUBJECT_KEY_ID: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x0e];
    pub const AUTHORITY_KEY_ID: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x23];
    pub const SUBJECT_ALT_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x11];
    pub const SERVER_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    pub const CLIENT_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
    /// The raw arcs of the subject key identifier extension, as x509-cert reports them.
    pub const SUBJECT_KEY_ID_ARCS: &str = "2.5.29.14";
}

/// What the certificate will say about its subject.
struct Subject {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// The issuer of a certificate signed by a CA.
struct Issuer {
    name: Vec<u8>,
    key_id: Vec<u8>,
    key: RsaPrivateKey,
}

/// A Name holding only a common name; Go leaves an empty one out. Go writes a
/// PrintableString when the text allows it and a UTF8String otherwise.
fn name_der(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return seq(&[]);
    }
    let printable = cn.bytes().all(|b| b.is_ascii_alphanumeric() || b"'()+,-./:=? ".contains(&b));
    let value = tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    seq(&[&tlv(0x31, &seq(&[oid::COMMON_NAME, &value]))])
}

/// UTCTime for 1950–2049, GeneralizedTime otherwise, as X.509 requires.
fn time_der(t: DateTime<Utc>) -> Result<Vec<u8>, FuncError> {
    let year = t.year();
    if (1950..2050).contains(&year) {
        Ok(tlv(0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes()))
    } else if (0..=9999).contains(&year) {
        Ok(tlv(0x18, t.format("%Y%m%d%H%M%SZ").to_string().as_bytes()))
    } else {
        Err(exec("error creating certificate: asn1: cannot marshal time: year out of range"))
    }
}

/// Go computes the end as now + days × 24 h in int64 nanoseconds, which wraps for huge counts.
fn not_after(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let nanos = 86_400_000_000_000i64.wrapping_mul(days);
    now + TimeDelta::nanoseconds(nanos)
}

fn extension(id: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let flag = if critical { tlv(0x01, &[0xff]) } else { Vec::new() };
    seq(&[id, &flag, &tlv(0x04, value)])
}

/// Go's extensions for Sprig's template, in Go's order.
fn extensions(s: &Subject, public: &[u8], issuer: Option<&Issuer>, self_name: &[u8]) -> Vec<u8> {
    // Digital signature and key encipherment (plus certificate signing for a CA), with the
    // bit string trimmed of trailing zero bits.
    let usage: &[u8] = if s.is_ca { &[0x02, 0xa4] } else { &[0x05, 0xa0] };
    let mut exts = vec![
        extension(oid::KEY_USAGE, true, &tlv(0x03, usage)),
        extension(oid::EXT_KEY_USAGE, false, &seq(&[oid::SERVER_AUTH, oid::CLIENT_AUTH])),
        extension(oid::BASIC_CONSTRAINTS, true, &seq(&[&if s.is_ca { tlv(0x01, &[0xff]) } else { Vec::new() }])),
    ];
    if s.is_ca {
        // RFC 7093 method 1, Go's default: the first 160 bits of SHA-256 over the key.
        exts.push(extension(oid::SUBJECT_KEY_ID, false, &tlv(0x04, &Sha256::digest(public)[..20])));
    }
    if let Some(i) = issuer.filter(|i| !i.key_id.is_empty() && i.name != self_name) {
        exts.push(extension(oid::AUTHORITY_KEY_ID, false, &seq(&[&tlv(0x80, &i.key_id)])));
    }
    if !s.dns.is_empty() || !s.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = s.dns.iter().map(|d| tlv(0x82, d.as_bytes())).collect();
        names.extend(s.ips.iter().map(|ip| tlv(0x87, ip)));
        let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        // An empty subject makes the alternative names critical (RFC 5280 4.2.1.6).
        exts.push(extension(oid::SUBJECT_ALT_NAME, s.cn.is_empty(), &seq(&refs)));
    }
    let refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
    tlv(0xa3, &seq(&refs))
}

/// Builds, signs and PEM-encodes a certificate for a new 2048-bit key.
fn issue(ctx: &mut FuncCtx, s: &Subject, issuer: Option<&Issuer>) -> Result<Value, FuncError> {
    let key = rsa_key(ctx, 2048)?;
    ctx.charge(SIGN_STEPS)?;
    let public = key.to_public_key().to_pkcs1_der().map_err(|e| exec(e.to_string()))?.as_bytes().to_vec();
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| exec(format!("no randomness: {e}")))?;
    let alg = seq(&[oid::SHA256_WITH_RSA, &[0x05, 0x00]]);
    let subject = name_der(&s.cn);
    let issuer_name = issuer.map_or(&subject, |i| &i.name);
    let validity = seq(&[&time_der(ctx.now)?, &time_der(not_after(ctx.now, s.days))?]);
    let spki = seq(&[&seq(&[oid::RSA_ENCRYPTION, &[0x05, 0x00]]), &bits(&public)]);
    let version = tlv(0xa0, &uint(&[2]));
    let exts = extensions(s, &public, issuer, &subject);
    let tbs = seq(&[&version, &uint(&serial), &alg, issuer_name, &validity, &subject, &spki, &exts]);
    let signer = issuer.map_or(&key, |i| &i.key);
    let signature = SigningKey::<Sha256>::new(signer.clone()).sign(&tbs).to_vec();
    let cert = seq(&[&tbs, &alg, &bits(&signature)]);
    Ok(certificate(pem_encode("CERTIFICATE", &cert), pem_encode("RSA PRIVATE KEY", &pkcs1_der(&key)?)))
}

/// A `[]interface{}` parameter: a list, or nil for none.
fn list_param(v: &Value) -> Result<&[Value], FuncError> {
    match v {
        Value::List(l) => Ok(&l.0),
        Value::Nil => Ok(&[]),
        other => Err(exec(format!("can't handle {} for arg of type []interface {{}}", other.type_name()))),
    }
}

/// Go's `%v` of a non-string list item, for the error messages.
fn show(v: &Value) -> String {
    super::args::strval(v, 1 << 10).map(|s| s.into_owned()).unwrap_or_default()
}

/// IP addresses in Go's `net.ParseIP` syntax; IPv4 (also IPv4-mapped IPv6) is written in
/// four bytes.
fn ip_list(v: &Value) -> Result<Vec<Vec<u8>>, FuncError> {
    let mut out = Vec::new();
    for item in list_param(v)? {
        let Value::Str(s) = item else {
            return Err(exec(format!("error parsing ip: {} is not a string", show(item))));
        };
        let ip: IpAddr = s.parse().map_err(|_| exec(format!("error parsing ip: {s}")))?;
        out.push(match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(|| v6.octets().to_vec(), |v4| v4.octets().to_vec()),
        });
    }
    Ok(out)
}

/// DNS names, which X.509 stores as IA5 (ASCII) strings.
fn dns_list(v: &Value) -> Result<Vec<String>, FuncError> {
    let mut out = Vec::new();
    for item in list_param(v)? {
        let Value::Str(s) = item else {
            return Err(exec(format!("error processing alternate dns name: {} is not a string", show(item))));
        };
        if !s.is_ascii() {
            return Err(exec(format!("error creating certificate: x509: \"{s}\" cannot be encoded as an IA5String")));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

fn subject(ctx: &FuncCtx, a: &[Value], is_ca: bool) -> Result<Subject, FuncError> {
    let cn = str_arg(&a[0])?.to_string();
    if is_ca {
        return Ok(Subject { cn, ips: Vec::new(), dns: Vec::new(), days: int_at(ctx, a, 1)?, is_ca });
    }
    let (ips, dns) = (ip_list(&a[1])?, dns_list(&a[2])?);
    Ok(Subject { cn, ips, dns, days: int_at(ctx, a, 3)?, is_ca })
}

/// `genCA cn days`: a self-signed CA certificate and its key.
pub(super) fn gen_ca(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    issue(ctx, &subject(ctx, a, true)?, None)
}

/// `genSelfSignedCert cn ips dnsNames days`
pub(super) fn gen_self_signed_cert(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    issue(ctx, &subject(ctx, a, false)?, None)
}

/// `genSignedCert cn ips dnsNames days ca`: a certificate signed by `ca` (from `genCA`).
pub(super) fn gen_signed_cert(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (ca_cert, ca_key) = certificate_arg(&a[4])?;
    let issuer = parse_issuer(&ca_cert, &ca_key)?;
    issue(ctx, &subject(ctx, a, false)?, Some(&issuer))
}

/// The CA's subject, key identifier and keys, checked as Go checks them.
fn parse_issuer(cert_pem: &str, key_pem: &str) -> Result<Issuer, FuncError> {
    let der = pem_decode(cert_pem.as_bytes()).ok_or_else(|| exec("unable to decode certificate"))?;
    let cert = Certificate::from_der(&der)
        .map_err(|e| exec(format!("error parsing certificate: decodedSignerCert.Bytes: {e}")))?;
    let key_der = pem_decode(key_pem.as_bytes()).ok_or_else(|| exec("unable to decode key"))?;
    let key = RsaPrivateKey::from_pkcs1_der(&key_der)
        .map_err(|e| exec(format!("error parsing prive key: decodedSignerKey.Bytes: {e}")))?;
    let tbs = cert.tbs_certificate();
    let name = tbs.subject().to_der().map_err(|e| exec(e.to_string()))?;
    let public = tbs.subject_public_key_info().subject_public_key.raw_bytes().to_vec();
    let own = key.to_public_key().to_pkcs1_der().map_err(|e| exec(e.to_string()))?;
    if own.as_bytes() != public.as_slice() {
        return Err(exec("error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"));
    }
    let key_id = tbs
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.extn_id.to_string() == oid::SUBJECT_KEY_ID_ARCS)
        .and_then(|e| x509_cert::der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok())
        .map(|o| o.as_bytes().to_vec())
        .unwrap_or_default();
    Ok(Issuer { name, key_id, key })
}

/// Go's `base64.StdEncoding.DecodeString`, which skips line breaks.
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let text: String = s.chars().filter(|&c| c != '\r' && c != '\n').collect();
    STANDARD.decode(text.as_bytes()).ok()
}

/// `buildCustomCert b64cert b64key`: checks a base64-encoded PEM certificate and PKCS #1 key
/// and returns them as a certificate object.
pub(super) fn build_custom_cert(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (b64cert, b64key) = (str_arg(&a[0])?, str_arg(&a[1])?);
    ctx.charge((b64cert.len() + b64key.len()) as u64 / 16)?;
    let cert = decode_b64(b64cert).ok_or_else(|| exec("unable to decode base64 certificate"))?;
    let key = decode_b64(b64key).ok_or_else(|| exec("unable to decode base64 private key"))?;
    let cert_der = pem_decode(&cert).ok_or_else(|| exec("unable to decode certificate"))?;
    Certificate::from_der(&cert_der).map_err(|e| exec(format!("error parsing certificate: decodedCert.Bytes: {e}")))?;
    let key_der = pem_decode(&key).ok_or_else(|| exec("unable to decode key"))?;
    RsaPrivateKey::from_pkcs1_der(&key_der)
        .map_err(|e| exec(format!("error parsing prive key: decodedKey.Bytes: {e}")))?;
    Ok(certificate(String::from_utf8_lossy(&cert).into_owned(), String::from_utf8_lossy(&key).into_owned()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use super::*;

    fn ctx() -> FuncCtx {
        FuncCtx::new(chrono::DateTime::UNIX_EPOCH + TimeDelta::days(20_000), 1 << 20, 10_000_000)
    }

    fn text(v: &Value) -> String {
        match v {
            Value::Str(s) => s.to_string(),
            other => panic!("not a string: {other:?}"),
        }
    }

    fn field(v: &Value, name: &str) -> String {
        let Value::Struct(st) = v else { panic!("not a certificate: {v:?}") };
        text(&st.get(name).expect("field"))
    }

    /// Runs openssl with `input` on stdin; `None` when openssl is not installed.
    fn openssl(args: &[&str], input: &str) -> Option<(bool, String)> {
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(input.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&out.stderr));
        Some((out.status.success(), s))
    }

    #[test]
    fn derive_password_matches_sprig() {
        let args = |n: i64, t: &str| {
            [Value::Int(n), Value::str(t), Value::str("password"), Value::str("user"), Value::str("example.com")]
        };
        assert_eq!(text(&derive_password(&mut ctx(), &args(1, "long")).unwrap()), "ZedaFaxcZaso9*");
        assert_eq!(text(&derive_password(&mut ctx(), &args(1, "x")).unwrap()), "cannot find password template x");
        assert!(derive_password(&mut ctx(), &args(-1, "long")).is_err());
    }

    #[test]
    fn aes_round_trips_and_reads_sprig_output() {
        let sprig = [Value::str("secret"), Value::str("w97/JUE9u7n4Ms8aWui1XnWaHqu6tA7GqAUCOa7bn2g=")];
        assert_eq!(text(&decrypt_aes(&mut ctx(), &sprig).unwrap()), "hello world");
        let enc = encrypt_aes(&mut ctx(), &[Value::str("k"), Value::str("sixteen bytes!!!")]).unwrap();
        assert_eq!(text(&enc).len(), 64);
        assert_eq!(text(&decrypt_aes(&mut ctx(), &[Value::str("k"), enc]).unwrap()), "sixteen bytes!!!");
    }

    #[test]
    fn keys_are_charged_so_a_render_makes_only_a_few() {
        let mut c = FuncCtx::new(chrono::DateTime::UNIX_EPOCH, 1 << 20, 2 * RSA_2048_STEPS);
        assert!(gen_ca(&mut c, &[Value::str("a"), Value::Int(1)]).is_ok());
        let err = gen_ca(&mut c, &[Value::str("b"), Value::Int(1)]).unwrap_err();
        assert!(matches!(err.kind, super::super::super::error::ErrorKind::Limit));
    }

    #[test]
    fn openssl_accepts_keys() {
        let rsa = text(&gen_private_key(&mut ctx(), &[Value::str("rsa")]).unwrap());
        let Some((ok, out)) = openssl(&["rsa", "-check", "-noout", "-text"], &rsa) else { return };
        assert!(ok && out.contains("4096 bit") && out.contains("RSA key ok"), "{out}");
        let ec = text(&gen_private_key(&mut ctx(), &[Value::str("ecdsa")]).unwrap());
        let (ok, out) = openssl(&["ec", "-check", "-noout", "-text"], &ec).unwrap();
        assert!(ok && out.contains("prime256v1"), "{out}");
    }

    #[test]
    fn openssl_accepts_dsa_keys() {
        let dsa = text(&gen_private_key(&mut ctx(), &[Value::str("dsa")]).unwrap());
        let Some((ok, out)) = openssl(&["dsa", "-noout", "-text"], &dsa) else { return };
        assert!(ok && out.contains("2048 bit"), "{out}");
    }

    #[test]
    fn openssl_verifies_a_chain() {
        let ca = gen_ca(&mut ctx(), &[Value::str("drydock CA"), Value::Int(365)]).unwrap();
        let ips = Value::list(vec![Value::str("10.1.2.3"), Value::str("::1")]);
        let dns = Value::list(vec![Value::str("svc.example")]);
        let leaf = gen_signed_cert(&mut ctx(), &[Value::str("svc"), ips, dns, Value::Int(30), ca.clone()]).unwrap();
        let Some((ok, out)) = openssl(&["x509", "-noout", "-text"], &field(&leaf, "Cert")) else { return };
        assert!(ok, "{out}");
        for want in [
            "Issuer: CN = drydock CA",
            "Subject: CN = svc",
            "Public-Key: (2048 bit)",
            "sha256WithRSAEncryption",
            "Not Before: Oct  4 00:00:00 2024 GMT",
            "Not After : Nov  3 00:00:00 2024 GMT",
            "TLS Web Server Authentication, TLS Web Client Authentication",
            "DNS:svc.example, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1",
            "CA:FALSE",
            "Authority Key Identifier",
        ] {
            assert!(out.contains(want), "missing {want:?} in {out}");
        }
        let (ok, out) = openssl(&["x509", "-noout", "-text"], &field(&ca, "Cert")).unwrap();
        assert!(ok && out.contains("CA:TRUE") && out.contains("Certificate Sign"), "{out}");
        let (ok, out) = openssl(&["rsa", "-check", "-noout"], &field(&leaf, "Key")).unwrap();
        assert!(ok, "{out}");
        let dir = std::env::temp_dir().join(format!("drydock-crypto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca_path, leaf_path) = (dir.join("ca.pem"), dir.join("leaf.pem"));
        std::fs::write(&ca_path, field(&ca, "Cert")).unwrap();
        std::fs::write(&leaf_path, field(&leaf, "Cert")).unwrap();
        let attime = (chrono::DateTime::UNIX_EPOCH + TimeDelta::days(20_001)).timestamp().to_string();
        let args = ["verify", "-attime", &attime, "-CAfile", ca_path.to_str().unwrap(), leaf_path.to_str().unwrap()];
        let (ok, out) = openssl(&args, "").unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(ok, "{out}");
    }

    #[test]
    fn custom_certificates_round_trip() {
        let made = gen_self_signed_cert(&mut ctx(), &[Value::str(""), Value::Nil, Value::Nil, Value::Int(1)]).unwrap();
        let (cert, key) = (field(&made, "Cert"), field(&made, "Key"));
        let args = [Value::string(STANDARD.encode(&cert)), Value::string(STANDARD.encode(&key))];
        let built = build_custom_cert(&mut ctx(), &args).unwrap();
        assert_eq!((field(&built, "Cert"), field(&built, "Key")), (cert, key));
    }
}

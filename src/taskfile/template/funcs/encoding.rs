//! Encodings and digests: `b64enc b64dec b32enc b32dec sha256sum sha1sum adler32sum`.
//!
//! Sprig's decoders return Go's error text as the result instead of failing.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::super::value::Value;
use super::args::str_arg;
use super::{FuncCtx, FuncError};

/// Go's StdEncoding: padded, and lenient about non-zero trailing bits.
pub(super) const STANDARD: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Go's decoders skip line breaks.
fn strip_newlines(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\r', '\n']) {
        s.chars().filter(|&c| c != '\r' && c != '\n').collect::<String>().into()
    } else {
        s.into()
    }
}

/// `b64enc s`
///
/// ACR's runner replaces Sprig's `b64enc` with its own, taking any value: nil encodes as "", and
/// a non-string as Go's `reflect.Value.String()` of it, such as `<int Value>`.
pub(super) fn b64enc(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let shown;
    let s = match &a[0] {
        Value::Nil => "",
        Value::Str(s) => s,
        other => {
            shown = format!("<{} Value>", other.type_name());
            &shown
        }
    };
    ctx.check_len(s.len().saturating_mul(4) / 3 + 4)?;
    Ok(Value::string(STANDARD.encode(s.as_bytes())))
}

/// `b64dec s`: the decoded text, or Go's error message.
pub(super) fn b64dec(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?;
    ctx.charge(s.len() as u64 / 64)?;
    Ok(Value::string(match decode_b64(s.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(at) => format!("illegal base64 data at input byte {at}"),
    }))
}

/// The value of a standard base64 digit.
fn b64_digit(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

fn skip_newlines(s: &[u8], mut at: usize) -> usize {
    while at < s.len() && matches!(s[at], b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// Go's padded, lenient StdEncoding decoder, failing at the offset Go reports. Go reads groups of
/// four digits, skipping line breaks anywhere, and only padding may end a group early.
fn decode_b64(s: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut at = 0;
    while at < s.len() {
        let mut digits = [0u32; 4];
        let mut n = 0;
        while n < 4 {
            let Some(&c) = s.get(at) else {
                // Input ran out inside a group (trailing line breaks alone are fine).
                return if n == 0 { Ok(out) } else { Err(at - n) };
            };
            at += 1;
            if let Some(d) = b64_digit(c) {
                digits[n] = d;
                n += 1;
                continue;
            }
            if matches!(c, b'\n' | b'\r') {
                continue;
            }
            if c != b'=' || n < 2 {
                return Err(at - 1);
            }
            if n == 2 {
                // Two digits need "==": find the second '='.
                at = skip_newlines(s, at);
                if at == s.len() {
                    return Err(s.len());
                }
                if s[at] != b'=' {
                    return Err(at - 1);
                }
                at += 1;
            }
            // Padding ends the input; anything but line breaks after it is an error.
            at = skip_newlines(s, at);
            if at < s.len() {
                return Err(at);
            }
            break;
        }
        let bits = digits.iter().fold(0u32, |acc, &d| (acc << 6) | d);
        out.extend_from_slice(&bits.to_be_bytes()[1..n]);
    }
    Ok(out)
}

/// `b32enc s`
pub(super) fn b32enc(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let bytes = str_arg(&a[0])?.as_bytes();
    ctx.check_len(bytes.len().saturating_mul(8) / 5 + 8)?;
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let emitted = (chunk.len() * 8).div_ceil(5);
        for k in 0..8 {
            if k < emitted {
                out.push(B32[((bits >> (35 - 5 * k)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    Ok(Value::string(out))
}

/// `b32dec s`: the decoded text, or Go's error message.
pub(super) fn b32dec(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    // Go drops line breaks before decoding, so offsets count without them.
    let s = strip_newlines(str_arg(&a[0])?);
    ctx.charge(s.len() as u64 / 64)?;
    Ok(Value::string(match decode_b32(s.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(at) => format!("illegal base32 data at input byte {at}"),
    }))
}

/// Go's padded StdEncoding base32 decoder, failing at the offset Go reports. A '=' only counts as
/// padding within the last eight characters; it ends decoding, and 1, 3 or 6 digits before it
/// cannot encode whole bytes.
fn decode_b32(s: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(s.len() / 8 * 5);
    let mut at = 0;
    while at < s.len() {
        let mut bits = 0u64;
        let mut n = 0;
        let mut end = false;
        while n < 8 {
            let Some(&c) = s.get(at) else { return Err(at - n) };
            at += 1;
            let left = s.len() - at;
            if c == b'=' && n >= 2 && left < 8 {
                if left + n < 7 {
                    return Err(s.len());
                }
                if let Some(k) = (0..7 - n).find(|&k| k < left && s[at + k] != b'=') {
                    return Err(at + k - 1);
                }
                if matches!(n, 3 | 6) {
                    return Err(at - 1);
                }
                end = true;
                break;
            }
            let d = B32.iter().position(|&x| x == c).ok_or(at - 1)?;
            bits = (bits << 5) | d as u64;
            n += 1;
        }
        bits <<= 5 * (8 - n);
        let bytes = match n {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            _ => 1,
        };
        out.extend_from_slice(&bits.to_be_bytes()[3..3 + bytes]);
        if end {
            break;
        }
    }
    Ok(out)
}

/// `sha256sum s`: lower-case hex digest.
pub(super) fn sha256sum(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(hex::encode(Sha256::digest(str_arg(&a[0])?.as_bytes()))))
}

/// `sha1sum s`: lower-case hex digest.
pub(super) fn sha1sum(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(hex::encode(Sha1::digest(str_arg(&a[0])?.as_bytes()))))
}

/// `adler32sum s`: the Adler-32 checksum in decimal.
pub(super) fn adler32sum(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let bytes = str_arg(&a[0])?.as_bytes();
    ctx.charge(bytes.len() as u64 / 64)?;
    Ok(Value::string(adler32(bytes).to_string()))
}

/// RFC 1950's checksum: two running sums modulo the largest prime below 2^16.
fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the longest run whose sums cannot overflow before reducing.
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

//! Encodings and digests: `b64enc b64dec b32enc b32dec sha256sum sha1sum`.
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
const STANDARD: GeneralPurpose =
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
pub(super) fn b64enc(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?;
    ctx.check_len(s.len().saturating_mul(4) / 3 + 4)?;
    Ok(Value::string(STANDARD.encode(s.as_bytes())))
}

/// `b64dec s`: the decoded text, or Go's error message.
pub(super) fn b64dec(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = strip_newlines(str_arg(&a[0])?);
    Ok(Value::string(match STANDARD.decode(s.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            let at = match e {
                base64::DecodeError::InvalidByte(i, _) => i,
                base64::DecodeError::InvalidLastSymbol { offset, .. } => offset,
                _ => s.len() / 4 * 4,
            };
            format!("illegal base64 data at input byte {at}")
        }
    }))
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
pub(super) fn b32dec(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = strip_newlines(str_arg(&a[0])?);
    Ok(Value::string(match decode_b32(s.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(at) => format!("illegal base32 data at input byte {at}"),
    }))
}

fn decode_b32(s: &[u8]) -> Result<Vec<u8>, usize> {
    if !s.len().is_multiple_of(8) {
        return Err(s.len() / 8 * 8);
    }
    let mut out = Vec::with_capacity(s.len() / 8 * 5);
    for (n, block) in s.chunks(8).enumerate() {
        let base = n * 8;
        let data_len = block.iter().position(|&c| c == b'=').unwrap_or(8);
        if block[data_len..].iter().any(|&c| c != b'=') || (data_len < 8 && base + 8 != s.len()) {
            return Err(base + data_len);
        }
        let out_len = match data_len {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return Err(base + data_len),
        };
        let mut bits = 0u64;
        for (k, &c) in block.iter().enumerate() {
            let v = if k < data_len { B32.iter().position(|&x| x == c).ok_or(base + k)? as u64 } else { 0 };
            bits = (bits << 5) | v;
        }
        for k in 0..out_len {
            out.push((bits >> (32 - 8 * k)) as u8);
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

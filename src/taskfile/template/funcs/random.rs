//! Random values: `randAlpha randAlphaNum randAscii randNumeric uuidv4 shuffle`.
//!
//! Their output differs on every render, as in ACR; only its shape is specified. Randomness
//! comes from the operating system, like Go's crypto/rand.

use super::super::value::Value;
use super::args::{int_arg, str_arg};
use super::{FuncCtx, FuncError};

/// Random bytes drawn from the operating system in batches.
struct Source {
    buf: [u8; 256],
    pos: usize,
}

impl Source {
    fn new() -> Self {
        Source { buf: [0; 256], pos: 256 }
    }

    fn byte(&mut self) -> Result<u8, FuncError> {
        if self.pos == self.buf.len() {
            getrandom::fill(&mut self.buf).map_err(|e| FuncError::exec(format!("no randomness: {e}")))?;
            self.pos = 0;
        }
        self.pos += 1;
        Ok(self.buf[self.pos - 1])
    }

    fn u64(&mut self) -> Result<u64, FuncError> {
        let mut v = 0u64;
        for _ in 0..8 {
            v = (v << 8) | u64::from(self.byte()?);
        }
        Ok(v)
    }

    /// A uniform number in `0..n` (`n > 0`), by rejection so no value is favoured.
    fn below(&mut self, n: u64) -> Result<u64, FuncError> {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.u64()?;
            if v < zone {
                return Ok(v % n);
            }
        }
    }

    /// A uniform item of a short alphabet.
    fn pick(&mut self, alphabet: &[u8]) -> Result<u8, FuncError> {
        let n = alphabet.len();
        let zone = 256 - 256 % n;
        loop {
            let b = usize::from(self.byte()?);
            if b < zone {
                return Ok(alphabet[b % n]);
            }
        }
    }
}

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

/// Printable ASCII, space to tilde: goutils' range for `randAscii`.
fn ascii() -> Vec<u8> {
    (b' '..=b'~').collect()
}

/// A string of `count` characters from `alphabet`. goutils draws from a range and keeps the
/// characters of the wanted class, which is a uniform choice among them; a negative count is
/// an error it returns and Sprig drops, so the result is "".
fn random_string(ctx: &mut FuncCtx, count: &Value, alphabet: &[u8]) -> Result<Value, FuncError> {
    let n = usize::try_from(int_arg(count)?).unwrap_or(0);
    ctx.check_len(n)?;
    ctx.charge(n as u64 / 8)?;
    let mut src = Source::new();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(src.pick(alphabet)?);
    }
    Ok(Value::string(String::from_utf8(out).expect("alphabets are ASCII")))
}

/// `randAlpha n`
pub(super) fn rand_alpha(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    random_string(ctx, &a[0], LETTERS)
}

/// `randAlphaNum n`
pub(super) fn rand_alpha_num(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    random_string(ctx, &a[0], ALNUM)
}

/// `randAscii n`
pub(super) fn rand_ascii(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    random_string(ctx, &a[0], &ascii())
}

/// `randNumeric n`
pub(super) fn rand_numeric(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    random_string(ctx, &a[0], DIGITS)
}

/// `uuidv4`: a random (version 4, RFC 4122 variant) UUID in its lower-case 36-character form.
pub(super) fn uuidv4(_: &mut FuncCtx, _: &[Value]) -> Result<Value, FuncError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| FuncError::exec(format!("no randomness: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(Value::string(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])))
}

/// `shuffle s`: the characters of `s` in a random order (a Fisher–Yates shuffle of runes).
pub(super) fn shuffle(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut chars: Vec<char> = str_arg(&a[0])?.chars().collect();
    ctx.charge(chars.len() as u64 / 4)?;
    let mut src = Source::new();
    for i in (1..chars.len()).rev() {
        let j = src.below(i as u64 + 1)? as usize;
        chars.swap(i, j);
    }
    Ok(Value::string(chars.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> FuncCtx {
        FuncCtx::new(chrono::DateTime::UNIX_EPOCH, 1 << 20, 1_000_000)
    }

    fn text(v: Value) -> String {
        match v {
            Value::Str(s) => s.to_string(),
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn alphabets_are_respected() {
        let s = text(rand_alpha(&mut ctx(), &[Value::Int(500)]).unwrap());
        assert!(s.len() == 500 && s.bytes().all(|c| c.is_ascii_alphabetic()));
        let s = text(rand_numeric(&mut ctx(), &[Value::Int(500)]).unwrap());
        assert!(s.bytes().all(|c| c.is_ascii_digit()));
        let s = text(rand_alpha_num(&mut ctx(), &[Value::Int(500)]).unwrap());
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
        let s = text(rand_ascii(&mut ctx(), &[Value::Int(500)]).unwrap());
        assert!(s.bytes().all(|c| (b' '..=b'~').contains(&c)));
        assert_eq!(text(rand_alpha(&mut ctx(), &[Value::Int(-3)]).unwrap()), "");
    }

    #[test]
    fn oversized_requests_are_refused() {
        assert!(rand_alpha(&mut ctx(), &[Value::Int(1 << 40)]).is_err());
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let u = text(uuidv4(&mut ctx(), &[]).unwrap());
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!("89ab".contains(&u[19..20]));
    }

    #[test]
    fn shuffle_keeps_the_characters() {
        let s = text(shuffle(&mut ctx(), &[Value::str("héllo wörld")]).unwrap());
        let mut a: Vec<char> = s.chars().collect();
        let mut b: Vec<char> = "héllo wörld".chars().collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
    }
}

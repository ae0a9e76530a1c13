//! Stepping over JSON text without building it: a value's extent, an object's members. Strings,
//! where a message's bulk is, are crossed with a vectorised search for their closing quote;
//! nested values by counting brackets outside strings. Lenient by design: numbers, literals,
//! escapes and UTF-8 are not checked (a trace checks the whole message, see
//! [`valid`](super::message::valid)), so reading what a message is costs about as much as finding
//! where its frame ends.

/// A position in a JSON text.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        let mut cursor = Cursor { bytes, at: 0 };
        cursor.skip_space();
        cursor
    }

    /// The next byte that is not whitespace.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.skip_space();
        self.at == self.bytes.len()
    }

    fn skip_space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let eaten = self.peek() == Some(byte);
        self.at += usize::from(eaten);
        eaten
    }

    /// Steps over one value; returns its text. `None` where the text ends first or is no JSON.
    pub fn value(&mut self) -> Option<&'a [u8]> {
        let first = self.peek()?;
        let start = self.at;
        match first {
            b'"' => self.string()?,
            b'{' | b'[' => self.nested()?,
            b',' | b':' | b'}' | b']' => return None,
            _ => self.scalar(),
        }
        let value = &self.bytes[start..self.at];
        self.skip_space();
        Some(value)
    }

    /// The members of an object, each handed to `member` with its key (as written, without its
    /// quotes) and the cursor at its value, which `member` must step over. `None` where the text
    /// is not an object or ends first; what `member` took in until then stays taken.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&'a [u8], &mut Cursor<'a>) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            self.peek();
            let start = self.at;
            self.string()?;
            let key = &self.bytes[start + 1..self.at - 1];
            if !self.eat(b':') {
                return None;
            }
            member(key, self)?;
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// Steps over a string, the cursor at its opening quote. A string that ends within its
    /// first eight bytes (most keys and ids) is found here with no call; any other goes on in
    /// [`Cursor::long_string`].
    #[inline]
    fn string(&mut self) -> Option<()> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        if let Some(word) = self
            .bytes
            .get(start..)
            .and_then(|rest| rest.first_chunk::<8>())
        {
            let word = u64::from_le_bytes(*word);
            let found = bytes_equal(word, b'"') | bytes_equal(word, b'\\');
            let at = start + found.trailing_zeros() as usize / 8;
            if found != 0 && self.bytes[at] == b'"' {
                self.at = at + 1;
                return Some(());
            }
        }
        self.long_string(start)
    }

    /// Steps over the rest of a string from `at`, past its opening quote, with a vectorised
    /// search for its next quote or backslash.
    #[inline(never)]
    fn long_string(&mut self, mut at: usize) -> Option<()> {
        loop {
            at += memchr::memchr2(b'"', b'\\', self.bytes.get(at..)?)?;
            if self.bytes[at] == b'"' {
                self.at = at + 1;
                return Some(());
            }
            at += 2; // the backslash and the byte it escapes
        }
    }

    /// Steps over an object or an array, the cursor at its bracket.
    fn nested(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
            self.at += 1;
            if depth == 0 {
                return Some(());
            }
        }
    }

    /// Steps over a number or a literal: up to what can follow a value.
    fn scalar(&mut self) {
        while self.bytes.get(self.at).is_some_and(|&byte| {
            !matches!(byte, b',' | b'}' | b']' | b':') && !byte.is_ascii_whitespace()
        }) {
            self.at += 1;
        }
    }
}

/// The high bit of each byte of `word` (little-endian) that equals `byte`: exact for the first
/// one, which is all that is asked of it (a borrow may mark bytes after it).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    const LOW: u64 = 0x0101_0101_0101_0101;
    let zeroed = word ^ (LOW * u64::from(byte));
    zeroed.wrapping_sub(LOW) & !zeroed & (LOW << 7)
}

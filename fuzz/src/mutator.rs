//! A small deterministic input generator: random bytes, and mutations of valid seeds
//! (bit flips, byte changes, truncation, duplication, splicing, boundary values).

/// Produces fuzz inputs from seeds with a xorshift generator.
pub struct Mutator {
    state: u64,
    seeds: Vec<Vec<u8>>,
}

impl Mutator {
    pub fn new(seed: u64, seeds: Vec<Vec<u8>>) -> Self {
        Self { state: seed | 1, seeds }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// The next input: one in eight is random bytes, the rest mutated seeds.
    pub fn next_input(&mut self) -> Vec<u8> {
        if self.below(8) == 0 || self.seeds.is_empty() {
            let len = self.below(512);
            return (0..len).map(|_| self.next() as u8).collect();
        }
        let pick = self.below(self.seeds.len());
        let mut input = self.seeds[pick].clone();
        for _ in 0..=self.below(4) {
            self.mutate(&mut input);
        }
        input
    }

    fn mutate(&mut self, input: &mut Vec<u8>) {
        let at = self.below(input.len() + 1);
        let last = input.len().saturating_sub(1);
        match self.below(7) {
            0 if !input.is_empty() => {
                let bit = 1 << self.below(8);
                input[at.min(last)] ^= bit;
            }
            1 if !input.is_empty() => {
                let byte = self.next() as u8;
                input[at.min(last)] = byte;
            }
            2 => input.truncate(at),
            3 => {
                let tail = input[at..].to_vec();
                input.extend_from_slice(&tail);
            }
            4 => {
                let pick = self.below(self.seeds.len());
                let other = self.seeds[pick].clone();
                let from = self.below(other.len() + 1);
                input.splice(at..at, other[from..].iter().copied());
            }
            5 => {
                let value = [0x00, 0x7f, 0x80, 0xff][self.below(4)];
                input.insert(at, value);
            }
            _ => input.extend((0..self.below(16)).map(|_| self.next() as u8)),
        }
    }
}

//! Pieces every MinAtar game shares: the action alphabet, the `Game` contract the sticky-action
//! wrapper drives, 10×10 bit grids and the channel-major observation writer.

use rand::RngExt;
use rand_pcg::Pcg64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Side of the square playfield.
pub(crate) const SIZE: usize = 10;

/// minatar's full action set, in its `action_map` order `['n','l','u','r','d','f']`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Action {
    Noop,
    Left,
    Up,
    Right,
    Down,
    Fire,
}

/// The random draws the games make, named after the numpy calls minatar makes, so a test can
/// replay a reference run's exact draws.
pub(crate) trait Draws {
    /// `rand()`: uniform in `[0, 1)`.
    fn rand(&mut self) -> f64;
    /// `randint(low, high)`: uniform integer in `low..high`.
    fn randint(&mut self, low: i64, high: i64) -> i64;
}

impl Draws for Pcg64 {
    fn rand(&mut self) -> f64 {
        self.random::<f64>()
    }

    fn randint(&mut self, low: i64, high: i64) -> i64 {
        self.random_range(low..high)
    }
}

/// One game's rules, as a minatar `environments/<game>.py` `Env` class (without the wrapper).
///
/// Every random draw comes from the generator passed in, which the wrapper shares with its sticky
/// actions, as minatar's `Environment.seed` does.
pub(crate) trait Game: Serialize + DeserializeOwned + Send + 'static {
    /// Registered Gymnasium id.
    const ID: &'static str;
    /// Number of observation channels (`state_shape()[2]`).
    const CHANNELS: usize;
    /// The game's `minimal_action_set()`: index `i` of the `-v1` action space plays `ACTIONS[i]`.
    const ACTIONS: &'static [Action];

    /// A game that `reset` will bring to its start state; `ramping` is minatar's
    /// `difficulty_ramping` (games without a ramp ignore it).
    fn new(ramping: bool) -> Self;
    fn reset<R: Draws>(&mut self, rng: &mut R);
    /// One frame: the reward and whether the game is over. A finished game returns `(0, true)`.
    fn act<R: Draws>(&mut self, action: Action, rng: &mut R) -> (u32, bool);
    /// Writes `state()` into zeroed planes.
    fn render(&self, planes: &mut Planes<'_>);
    /// Checks a deserialised state keeps the invariants the rules rely on (positions on the
    /// board, timers in range), so a damaged snapshot is refused instead of panicking later.
    fn check(&self) -> Result<(), String>;
}

/// A 10×10 boolean map packed into the low 100 bits, bit `10*y + x` for row `y`, column `x`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u128", try_from = "u128")]
pub(crate) struct Grid(u128);

impl From<Grid> for u128 {
    fn from(g: Grid) -> u128 {
        g.0
    }
}

impl TryFrom<u128> for Grid {
    type Error = String;
    fn try_from(bits: u128) -> Result<Grid, String> {
        if bits & !ALL == 0 {
            Ok(Grid(bits))
        } else {
            Err(format!("grid {bits:#x} has cells beyond the 10x10 board"))
        }
    }
}

const ALL: u128 = (1 << 100) - 1;
const COL0: u128 = {
    let mut m = 0u128;
    let mut y = 0;
    while y < SIZE {
        m |= 1 << (y * SIZE);
        y += 1;
    }
    m
};
const COL9: u128 = COL0 << 9;
const ROW0: u128 = (1 << SIZE) - 1;

impl Grid {
    pub(crate) const EMPTY: Grid = Grid(0);

    fn bit(y: usize, x: usize) -> u128 {
        debug_assert!(
            y < SIZE && x < SIZE,
            "cell ({y}, {x}) outside the 10x10 grid"
        );
        1 << (y * SIZE + x)
    }

    /// Every cell with `y` in `ys` and `x` in `xs` (numpy's `map[ys, xs] = 1` on a blank map).
    pub(crate) const fn block(ys: std::ops::Range<usize>, xs: std::ops::Range<usize>) -> Grid {
        let row = ((1u128 << xs.end) - 1) & !((1u128 << xs.start) - 1);
        let mut m = 0;
        let mut y = ys.start;
        while y < ys.end {
            m |= row << (y * SIZE);
            y += 1;
        }
        Grid(m)
    }

    pub(crate) fn get(self, y: usize, x: usize) -> bool {
        self.0 & Self::bit(y, x) != 0
    }

    pub(crate) fn set(&mut self, y: usize, x: usize) {
        self.0 |= Self::bit(y, x);
    }

    pub(crate) fn clear(&mut self, y: usize, x: usize) {
        self.0 &= !Self::bit(y, x);
    }

    pub(crate) fn count(self) -> u32 {
        self.0.count_ones()
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn and(self, other: Grid) -> Grid {
        Grid(self.0 & other.0)
    }

    pub(crate) fn and_not(self, other: Grid) -> Grid {
        Grid(self.0 & !other.0)
    }

    pub(crate) fn col_any(self, x: usize) -> bool {
        self.0 & (COL0 << x) != 0
    }

    pub(crate) fn row_any(self, y: usize) -> bool {
        self.0 & (ROW0 << (y * SIZE)) != 0
    }

    /// Largest row holding a cell in column `x` (`np.max(np.where(map[:, x] == 1))`).
    pub(crate) fn lowest_in_col(self, x: usize) -> Option<usize> {
        let m = self.0 & (COL0 << x);
        (m != 0).then(|| (127 - m.leading_zeros() as usize) / SIZE)
    }

    /// Every row one up, row 0 falling off: `np.roll(map, -1, axis=0); map[9, :] = 0`.
    pub(crate) fn shift_up(self) -> Grid {
        Grid(self.0 >> SIZE)
    }

    /// Every row one down, row 9 falling off: `np.roll(map, 1, axis=0); map[0, :] = 0`.
    pub(crate) fn shift_down(self) -> Grid {
        Grid((self.0 << SIZE) & ALL)
    }

    /// `np.roll(map, 1, axis=0)`: row 9 wraps to row 0.
    pub(crate) fn roll_down(self) -> Grid {
        Grid(((self.0 << SIZE) & ALL) | (self.0 >> (SIZE * (SIZE - 1))))
    }

    /// `np.roll(map, dx, axis=1)` for `dx` = ±1: the edge column wraps around.
    pub(crate) fn roll_x(self, dx: i8) -> Grid {
        if dx > 0 {
            Grid(((self.0 & !COL9) << 1) | ((self.0 & COL9) >> 9))
        } else {
            Grid(((self.0 & !COL0) >> 1) | ((self.0 & COL0) << 9))
        }
    }

    /// Set cells as `(y, x)`, row by row.
    pub(crate) fn cells(self) -> impl Iterator<Item = (usize, usize)> {
        let mut m = self.0;
        std::iter::from_fn(move || {
            (m != 0).then(|| {
                let i = m.trailing_zeros() as usize;
                m &= m - 1;
                (i / SIZE, i % SIZE)
            })
        })
    }
}

/// Channel-major (`[c][y][x]`) 0/1 planes over a caller's buffer: minatar's `[y][x][c]` boolean
/// `state()` transposed.
pub(crate) struct Planes<'a> {
    buf: &'a mut [f32],
}

impl<'a> Planes<'a> {
    /// Zeroes `buf`, which must hold exactly `channels` planes.
    pub(crate) fn new(buf: &'a mut [f32], channels: usize, id: &str) -> Planes<'a> {
        assert_eq!(
            buf.len(),
            channels * SIZE * SIZE,
            "{id}: observation buffer must hold {channels}x10x10 values"
        );
        buf.fill(0.0);
        Planes { buf }
    }

    /// Marks cell `(y, x)` of channel `c`; coordinates off the board are ignored (the games keep
    /// every drawn entity on it).
    pub(crate) fn set(&mut self, c: usize, y: i8, x: i8) {
        debug_assert!(
            (0..SIZE as i8).contains(&y) && (0..SIZE as i8).contains(&x),
            "drawing off the board at ({y}, {x})"
        );
        if (0..SIZE as i8).contains(&y) && (0..SIZE as i8).contains(&x) {
            self.buf[(c * SIZE + y as usize) * SIZE + x as usize] = 1.0;
        }
    }

    /// Copies a whole grid into channel `c`.
    pub(crate) fn grid(&mut self, c: usize, grid: Grid) {
        let plane = &mut self.buf[c * SIZE * SIZE..(c + 1) * SIZE * SIZE];
        for (y, x) in grid.cells() {
            plane[y * SIZE + x] = 1.0;
        }
    }
}

/// `+1` for an entity moving right (`True`), `-1` for left: minatar's `x += 1 if dir else -1`.
pub(crate) fn step_x(right: bool) -> i8 {
    if right { 1 } else { -1 }
}

/// Whether `x` is a row or column of the board.
pub(crate) fn on_board(x: i8) -> bool {
    (0..SIZE as i8).contains(&x)
}

/// `Err` naming `what` unless `ok`: the building block of `Game::check`.
pub(crate) fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("invalid game state: {what}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_cells(cells: &[(usize, usize)]) -> Grid {
        let mut g = Grid::EMPTY;
        for &(y, x) in cells {
            g.set(y, x);
        }
        g
    }

    #[test]
    fn block_matches_numpy_slice() {
        let g = Grid::block(1..4, 2..8);
        assert_eq!(g.count(), 18);
        assert!(g.get(1, 2) && g.get(3, 7));
        assert!(!g.get(0, 2) && !g.get(4, 2) && !g.get(1, 1) && !g.get(1, 8));
    }

    #[test]
    fn shifts_drop_the_edge_row() {
        let g = from_cells(&[(0, 3), (5, 5), (9, 1)]);
        assert_eq!(g.shift_up(), from_cells(&[(4, 5), (8, 1)]));
        assert_eq!(g.shift_down(), from_cells(&[(1, 3), (6, 5)]));
    }

    #[test]
    fn rolls_wrap_like_numpy() {
        let g = from_cells(&[(0, 3), (9, 1), (4, 9), (6, 0)]);
        assert_eq!(g.roll_down(), from_cells(&[(1, 3), (0, 1), (5, 9), (7, 0)]));
        assert_eq!(g.roll_x(1), from_cells(&[(0, 4), (9, 2), (4, 0), (6, 1)]));
        assert_eq!(g.roll_x(-1), from_cells(&[(0, 2), (9, 0), (4, 8), (6, 9)]));
    }

    #[test]
    fn column_and_row_queries() {
        let g = from_cells(&[(2, 4), (7, 4), (9, 0)]);
        assert_eq!(g.lowest_in_col(4), Some(7));
        assert_eq!(g.lowest_in_col(0), Some(9));
        assert_eq!(g.lowest_in_col(5), None);
        assert!(g.col_any(0) && !g.col_any(9));
        assert!(g.row_any(9) && !g.row_any(0));
        assert_eq!(g.cells().collect::<Vec<_>>(), vec![(2, 4), (7, 4), (9, 0)]);
    }

    #[test]
    fn planes_are_channel_major() {
        let mut buf = vec![7.0; 200];
        let mut p = Planes::new(&mut buf, 2, "test");
        p.set(1, 2, 3);
        p.grid(0, from_cells(&[(9, 9)]));
        assert_eq!(buf[100 + 23], 1.0);
        assert_eq!(buf[99], 1.0);
        assert_eq!(buf.iter().sum::<f32>(), 2.0);
    }
}

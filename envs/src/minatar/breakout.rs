//! Breakout (minatar `environments/breakout.py`): bounce the ball off the paddle into three rows
//! of bricks, +1 per brick, a fresh wall when cleared; the game ends when the ball reaches the
//! bottom row past the paddle.

use serde::{Deserialize, Serialize};

use super::common::{Action, Draws, Game, Grid, Planes, ensure, on_board};

const PADDLE: usize = 0;
const BALL: usize = 1;
const TRAIL: usize = 2;
const BRICK: usize = 3;

const WALL: Grid = Grid::block(1..4, 0..10);

/// Ball directions 0..4: up-left, up-right, down-right, down-left.
const DELTA: [(i8, i8); 4] = [(-1, -1), (1, -1), (1, 1), (-1, 1)];
/// Direction after a side wall, after the ceiling / a brick / the paddle's centre, and after the
/// paddle's edge.
const FLIP_X: [u8; 4] = [1, 0, 3, 2];
const FLIP_Y: [u8; 4] = [3, 2, 1, 0];
const FLIP_XY: [u8; 4] = [2, 3, 0, 1];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Breakout {
    pub(crate) ball_x: i8,
    pub(crate) ball_y: i8,
    pub(crate) ball_dir: u8,
    pub(crate) pos: i8,
    pub(crate) bricks: Grid,
    /// Set on the frame a brick was hit, so a ball still touching bricks passes through.
    pub(crate) strike: bool,
    pub(crate) last_x: i8,
    pub(crate) last_y: i8,
    pub(crate) terminal: bool,
}

impl Game for Breakout {
    const ID: &'static str = "MinAtar/Breakout-v1";
    const CHANNELS: usize = 4;
    const ACTIONS: &'static [Action] = &[Action::Noop, Action::Left, Action::Right];

    fn new(_ramping: bool) -> Self {
        Breakout {
            ball_x: 0,
            ball_y: 3,
            ball_dir: 2,
            pos: 4,
            bricks: WALL,
            strike: false,
            last_x: 0,
            last_y: 3,
            terminal: false,
        }
    }

    fn reset<R: Draws>(&mut self, rng: &mut R) {
        let (x, dir) = if rng.randint(0, 2) == 0 {
            (0, 2)
        } else {
            (9, 3)
        };
        *self = Breakout {
            ball_x: x,
            ball_dir: dir,
            last_x: x,
            ..Breakout::new(true)
        };
    }

    fn act<R: Draws>(&mut self, action: Action, _rng: &mut R) -> (u32, bool) {
        if self.terminal {
            return (0, true);
        }
        let mut reward = 0;
        match action {
            Action::Left => self.pos = (self.pos - 1).max(0),
            Action::Right => self.pos = (self.pos + 1).min(9),
            _ => {}
        }

        self.last_x = self.ball_x;
        self.last_y = self.ball_y;
        let (dx, dy) = DELTA[self.ball_dir as usize];
        let mut new_x = self.ball_x + dx;
        let mut new_y = self.ball_y + dy;

        let mut strike_toggle = false;
        if !on_board(new_x) {
            new_x = new_x.clamp(0, 9);
            self.ball_dir = FLIP_X[self.ball_dir as usize];
        }
        if new_y < 0 {
            new_y = 0;
            self.ball_dir = FLIP_Y[self.ball_dir as usize];
        } else if self.bricks.get(new_y as usize, new_x as usize) {
            strike_toggle = true;
            if !self.strike {
                reward += 1;
                self.strike = true;
                self.bricks.clear(new_y as usize, new_x as usize);
                new_y = self.last_y;
                self.ball_dir = FLIP_Y[self.ball_dir as usize];
            }
        } else if new_y == 9 {
            if self.bricks.is_empty() {
                self.bricks = WALL;
            }
            if self.ball_x == self.pos {
                self.ball_dir = FLIP_Y[self.ball_dir as usize];
                new_y = self.last_y;
            } else if new_x == self.pos {
                self.ball_dir = FLIP_XY[self.ball_dir as usize];
                new_y = self.last_y;
            } else {
                self.terminal = true;
            }
        }
        if !strike_toggle {
            self.strike = false;
        }

        self.ball_x = new_x;
        self.ball_y = new_y;
        (reward, self.terminal)
    }

    fn render(&self, planes: &mut Planes<'_>) {
        planes.set(BALL, self.ball_y, self.ball_x);
        planes.set(PADDLE, 9, self.pos);
        planes.set(TRAIL, self.last_y, self.last_x);
        planes.grid(BRICK, self.bricks);
    }

    fn check(&self) -> Result<(), String> {
        ensure(
            on_board(self.ball_x) && on_board(self.ball_y),
            "ball off the board",
        )?;
        ensure(
            on_board(self.last_x) && on_board(self.last_y),
            "trail off the board",
        )?;
        ensure(on_board(self.pos), "paddle off the board")?;
        ensure(self.ball_dir < 4, "ball direction not in 0..4")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    fn rng() -> Pcg64 {
        Pcg64::seed_from_u64(7)
    }

    fn game(ball_x: i8, ball_y: i8, ball_dir: u8, pos: i8) -> Breakout {
        Breakout {
            ball_x,
            ball_y,
            ball_dir,
            pos,
            last_x: ball_x,
            last_y: ball_y,
            ..Breakout::new(true)
        }
    }

    #[test]
    fn reset_puts_ball_in_a_top_corner_heading_down() {
        let mut r = rng();
        let mut seen = [false; 2];
        for _ in 0..50 {
            let mut g = Breakout::new(true);
            g.reset(&mut r);
            assert_eq!((g.ball_y, g.pos, g.bricks.count()), (3, 4, 30));
            match (g.ball_x, g.ball_dir) {
                (0, 2) => seen[0] = true,
                (9, 3) => seen[1] = true,
                other => panic!("unexpected start {other:?}"),
            }
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn side_wall_reflects_horizontally() {
        // Down-right at the right wall becomes down-left and stays in column 9.
        let mut g = game(9, 5, 2, 0);
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, false));
        assert_eq!((g.ball_x, g.ball_y, g.ball_dir), (9, 6, 3));
        assert_eq!((g.last_x, g.last_y), (9, 5));
    }

    #[test]
    fn ceiling_reflects_vertically() {
        let mut g = game(5, 0, 0, 0);
        g.bricks = Grid::EMPTY;
        g.act(Action::Noop, &mut rng());
        assert_eq!((g.ball_x, g.ball_y, g.ball_dir), (4, 0, 3));
    }

    #[test]
    fn breaking_a_brick_scores_and_bounces_back() {
        // Up-right from (x 4, y 4) into the brick at (x 5, y 3): removed, ball back down.
        let mut g = game(4, 4, 1, 0);
        assert_eq!(g.act(Action::Noop, &mut rng()), (1, false));
        assert!(!g.bricks.get(3, 5));
        assert_eq!(g.bricks.count(), 29);
        assert_eq!((g.ball_x, g.ball_y, g.ball_dir), (5, 4, 2));
        assert!(g.strike);
    }

    #[test]
    fn ball_passes_a_brick_right_after_a_strike() {
        let mut g = game(4, 4, 1, 0);
        g.strike = true;
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, false));
        assert!(g.bricks.get(3, 5));
        assert_eq!((g.ball_x, g.ball_y), (5, 3));
        assert!(g.strike);
    }

    #[test]
    fn paddle_under_the_ball_reflects_it_up() {
        let mut g = game(3, 8, 2, 3);
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, false));
        assert_eq!((g.ball_x, g.ball_y, g.ball_dir), (4, 8, 1));
    }

    #[test]
    fn paddle_edge_sends_the_ball_back_the_way_it_came() {
        let mut g = game(3, 8, 2, 4);
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, false));
        assert_eq!((g.ball_x, g.ball_y, g.ball_dir), (4, 8, 0));
    }

    #[test]
    fn missing_the_ball_ends_the_game() {
        let mut g = game(3, 8, 2, 8);
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
        assert_eq!((g.ball_x, g.ball_y), (4, 9));
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
        assert_eq!((g.ball_x, g.ball_y), (4, 9));
    }

    #[test]
    fn cleared_wall_is_rebuilt_when_the_ball_reaches_the_bottom() {
        let mut g = game(3, 8, 2, 3);
        g.bricks = Grid::EMPTY;
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.bricks, WALL);
    }

    #[test]
    fn paddle_moves_and_stops_at_the_walls() {
        let mut g = game(5, 5, 0, 0);
        g.act(Action::Left, &mut rng());
        assert_eq!(g.pos, 0);
        g.act(Action::Right, &mut rng());
        assert_eq!(g.pos, 1);
    }

    #[test]
    fn render_draws_every_channel() {
        let mut g = Breakout::new(true);
        g.reset(&mut rng());
        let mut buf = vec![0.0; 400];
        g.render(&mut Planes::new(&mut buf, 4, "t"));
        let plane = |c: usize| buf[c * 100..(c + 1) * 100].to_vec();
        assert_eq!(plane(PADDLE)[94], 1.0);
        assert_eq!(plane(BALL)[30 + g.ball_x as usize], 1.0);
        assert_eq!(plane(TRAIL)[30 + g.ball_x as usize], 1.0);
        assert_eq!(plane(BRICK).iter().sum::<f32>(), 30.0);
        assert!(plane(BRICK)[10..40].iter().all(|&v| v == 1.0));
        assert_eq!(buf.iter().sum::<f32>(), 33.0);
    }
}

//! Space Invaders (minatar `environments/space_invaders.py`): shoot the descending alien block
//! (+1 per alien) while dodging its bullets; a cleared wave returns faster when ramping. An alien
//! or bullet reaching the cannon ends the game.

use serde::{Deserialize, Serialize};

use super::common::{Action, Draws, Game, Grid, Planes, ensure, on_board};

const CANNON: usize = 0;
const ALIEN: usize = 1;
const ALIEN_LEFT: usize = 2;
const ALIEN_RIGHT: usize = 3;
const FRIENDLY_BULLET: usize = 4;
const ENEMY_BULLET: usize = 5;

const SHOT_COOL_DOWN: u32 = 5;
const ENEMY_MOVE_INTERVAL: u32 = 12;
const ENEMY_SHOT_INTERVAL: u32 = 10;

const WAVE: Grid = Grid::block(0..4, 2..8);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SpaceInvaders {
    /// The cannon's column (its row is 9).
    pub(crate) pos: i8,
    pub(crate) f_bullets: Grid,
    pub(crate) e_bullets: Grid,
    pub(crate) aliens: Grid,
    /// -1 left, +1 right.
    pub(crate) alien_dir: i8,
    pub(crate) enemy_move_interval: u32,
    pub(crate) alien_move_timer: u32,
    pub(crate) alien_shot_timer: u32,
    pub(crate) ramp_index: u32,
    pub(crate) shot_timer: u32,
    pub(crate) ramping: bool,
    pub(crate) terminal: bool,
}

impl SpaceInvaders {
    /// `_nearest_alien`: the lowest alien of the nonempty column nearest the cannon, the left
    /// column first on a tie (minatar's stable sort of `range(10)` by distance).
    fn nearest_alien(&self) -> Option<(usize, usize)> {
        let pos = self.pos as usize;
        (0..10).find_map(|d| {
            [
                pos.checked_sub(d),
                Some(pos + d).filter(|&x| x < 10 && d > 0),
            ]
            .into_iter()
            .flatten()
            .find_map(|x| self.aliens.lowest_in_col(x).map(|y| (y, x)))
        })
    }

    fn alien_on_cannon(&self) -> bool {
        self.aliens.get(9, self.pos as usize)
    }
}

impl Game for SpaceInvaders {
    const ID: &'static str = "MinAtar/SpaceInvaders-v1";
    const CHANNELS: usize = 6;
    const ACTIONS: &'static [Action] = &[Action::Noop, Action::Left, Action::Right, Action::Fire];

    fn new(ramping: bool) -> Self {
        SpaceInvaders {
            pos: 5,
            f_bullets: Grid::EMPTY,
            e_bullets: Grid::EMPTY,
            aliens: WAVE,
            alien_dir: -1,
            enemy_move_interval: ENEMY_MOVE_INTERVAL,
            alien_move_timer: ENEMY_MOVE_INTERVAL,
            alien_shot_timer: ENEMY_SHOT_INTERVAL,
            ramp_index: 0,
            shot_timer: 0,
            ramping,
            terminal: false,
        }
    }

    fn reset<R: Draws>(&mut self, _rng: &mut R) {
        *self = SpaceInvaders::new(self.ramping);
    }

    fn act<R: Draws>(&mut self, action: Action, _rng: &mut R) -> (u32, bool) {
        if self.terminal {
            return (0, true);
        }
        let mut reward = 0;
        if action == Action::Fire && self.shot_timer == 0 {
            self.f_bullets.set(9, self.pos as usize);
            self.shot_timer = SHOT_COOL_DOWN;
        } else if action == Action::Left {
            self.pos = (self.pos - 1).max(0);
        } else if action == Action::Right {
            self.pos = (self.pos + 1).min(9);
        }

        self.f_bullets = self.f_bullets.shift_up();
        self.e_bullets = self.e_bullets.shift_down();
        if self.e_bullets.get(9, self.pos as usize) {
            self.terminal = true;
        }

        if self.alien_on_cannon() {
            self.terminal = true;
        }
        if self.alien_move_timer == 0 {
            self.alien_move_timer = self.aliens.count().min(self.enemy_move_interval);
            let at_edge = (self.aliens.col_any(0) && self.alien_dir < 0)
                || (self.aliens.col_any(9) && self.alien_dir > 0);
            if at_edge {
                self.alien_dir = -self.alien_dir;
                if self.aliens.row_any(9) {
                    self.terminal = true;
                }
                self.aliens = self.aliens.roll_down();
            } else {
                self.aliens = self.aliens.roll_x(self.alien_dir);
            }
            if self.alien_on_cannon() {
                self.terminal = true;
            }
        }
        if self.alien_shot_timer == 0 {
            self.alien_shot_timer = ENEMY_SHOT_INTERVAL;
            // The block is never empty here: a cleared wave is replaced at the end of a frame.
            if let Some((y, x)) = self.nearest_alien() {
                self.e_bullets.set(y, x);
            }
        }

        let kills = self.aliens.and(self.f_bullets);
        reward += kills.count();
        self.aliens = self.aliens.and_not(kills);
        self.f_bullets = self.f_bullets.and_not(kills);

        self.shot_timer = self.shot_timer.saturating_sub(1);
        self.alien_move_timer -= 1;
        self.alien_shot_timer -= 1;
        if self.aliens.is_empty() {
            if self.enemy_move_interval > 6 && self.ramping {
                self.enemy_move_interval -= 1;
                self.ramp_index += 1;
            }
            self.aliens = WAVE;
        }
        (reward, self.terminal)
    }

    fn render(&self, planes: &mut Planes<'_>) {
        planes.set(CANNON, 9, self.pos);
        planes.grid(ALIEN, self.aliens);
        let heading = if self.alien_dir < 0 {
            ALIEN_LEFT
        } else {
            ALIEN_RIGHT
        };
        planes.grid(heading, self.aliens);
        planes.grid(FRIENDLY_BULLET, self.f_bullets);
        planes.grid(ENEMY_BULLET, self.e_bullets);
    }

    fn check(&self) -> Result<(), String> {
        ensure(on_board(self.pos), "cannon off the board")?;
        ensure(
            self.alien_dir == -1 || self.alien_dir == 1,
            "alien direction not ±1",
        )?;
        ensure(!self.aliens.is_empty(), "no aliens")?;
        ensure(
            (6..=ENEMY_MOVE_INTERVAL).contains(&self.enemy_move_interval),
            "enemy move interval not in 6..=12",
        )?;
        ensure(
            self.alien_move_timer < ENEMY_MOVE_INTERVAL,
            "alien move timer above 11",
        )?;
        ensure(
            self.alien_shot_timer < ENEMY_SHOT_INTERVAL,
            "alien shot timer above 9",
        )?;
        ensure(self.shot_timer < SHOT_COOL_DOWN, "shot timer above 4")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    fn rng() -> Pcg64 {
        Pcg64::seed_from_u64(5)
    }

    /// A fresh game whose aliens neither move nor shoot for a long while.
    fn frozen() -> SpaceInvaders {
        let mut g = SpaceInvaders::new(true);
        g.alien_move_timer = 1000;
        g.alien_shot_timer = 1000;
        g
    }

    #[test]
    fn a_shot_climbs_one_row_per_frame_and_kills_for_one_point() {
        // Cannon at column 5 under the wave's column 5 (rows 0..4): the bullet is at row 8 after
        // the firing frame, reaches the lowest alien (row 3) on frame 6.
        let mut g = frozen();
        let mut rewards = vec![];
        rewards.push(g.act(Action::Fire, &mut rng()).0);
        assert!(g.f_bullets.get(8, 5));
        for _ in 0..5 {
            rewards.push(g.act(Action::Noop, &mut rng()).0);
        }
        assert_eq!(rewards, vec![0, 0, 0, 0, 0, 1]);
        assert!(!g.aliens.get(3, 5) && g.aliens.get(2, 5));
        assert!(g.f_bullets.is_empty());
        assert_eq!(g.aliens.count(), 23);
    }

    #[test]
    fn firing_has_a_cool_down() {
        let mut g = frozen();
        for _ in 0..5 {
            g.act(Action::Fire, &mut rng());
        }
        // Only the first press fired; its bullet climbed to row 4.
        assert_eq!(g.f_bullets, Grid::block(4..5, 5..6));
        g.act(Action::Fire, &mut rng());
        assert!(g.f_bullets.get(8, 5));
    }

    #[test]
    fn aliens_march_then_drop_and_turn_at_the_edge() {
        let mut g = frozen();
        g.alien_move_timer = 0;
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.aliens, WAVE.roll_x(-1));
        // Timer restarts at min(24 aliens, 12), minus this frame.
        assert_eq!(g.alien_move_timer, 11);
        g.aliens = Grid::block(0..4, 0..6);
        g.alien_move_timer = 0;
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.aliens, Grid::block(1..5, 0..6));
        assert_eq!(g.alien_dir, 1);
    }

    #[test]
    fn few_aliens_move_faster() {
        let mut g = frozen();
        g.aliens = Grid::block(0..1, 4..7);
        g.alien_move_timer = 0;
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.alien_move_timer, 2);
    }

    #[test]
    fn the_nearest_lowest_alien_shoots() {
        let mut g = frozen();
        g.aliens = Grid::block(0..2, 1..2);
        g.aliens.set(4, 8);
        g.pos = 5;
        // Columns 1 and 8 are 4 and 3 away: column 8 shoots from row 4.
        assert_eq!(g.nearest_alien(), Some((4, 8)));
        g.pos = 4;
        // Now column 1 is 3 away and column 8 4: its lowest alien is in row 1.
        assert_eq!(g.nearest_alien(), Some((1, 1)));
        g.aliens.set(0, 7);
        g.pos = 4;
        // Columns 1 and 7 both 3 away: the left one wins.
        assert_eq!(g.nearest_alien(), Some((1, 1)));
        g.alien_shot_timer = 0;
        g.act(Action::Noop, &mut rng());
        assert!(g.e_bullets.get(1, 1));
        assert_eq!(g.alien_shot_timer, 9);
    }

    #[test]
    fn an_enemy_bullet_reaching_the_cannon_ends_the_game() {
        let mut g = frozen();
        g.e_bullets.set(8, 5);
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
        let mut g = frozen();
        g.e_bullets.set(8, 5);
        assert_eq!(g.act(Action::Left, &mut rng()), (0, false));
        assert!(g.e_bullets.get(9, 5));
        g.act(Action::Noop, &mut rng());
        assert!(g.e_bullets.is_empty());
    }

    #[test]
    fn aliens_reaching_the_bottom_end_the_game() {
        let mut g = frozen();
        g.aliens = Grid::block(9..10, 0..3);
        g.alien_move_timer = 0;
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
        // They wrapped to row 0 as numpy's roll does.
        assert_eq!(g.aliens, Grid::block(0..1, 0..3));
    }

    #[test]
    fn a_cleared_wave_returns_faster() {
        let mut g = frozen();
        g.aliens = Grid::EMPTY;
        g.aliens.set(3, 5);
        g.f_bullets.set(4, 5);
        assert_eq!(g.act(Action::Noop, &mut rng()), (1, false));
        assert_eq!(g.aliens, WAVE);
        assert_eq!((g.enemy_move_interval, g.ramp_index), (11, 1));
        let mut g = frozen();
        g.ramping = false;
        g.aliens = Grid::EMPTY;
        g.aliens.set(3, 5);
        g.f_bullets.set(4, 5);
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.enemy_move_interval, 12);
    }

    #[test]
    fn render_marks_heading_channel() {
        let mut g = SpaceInvaders::new(true);
        let mut buf = vec![0.0; 600];
        g.render(&mut Planes::new(&mut buf, 6, "t"));
        let sum = |buf: &[f32], c: usize| buf[c * 100..(c + 1) * 100].iter().sum::<f32>();
        assert_eq!(
            (
                sum(&buf, ALIEN),
                sum(&buf, ALIEN_LEFT),
                sum(&buf, ALIEN_RIGHT)
            ),
            (24.0, 24.0, 0.0)
        );
        assert_eq!(buf[CANNON * 100 + 95], 1.0);
        g.alien_dir = 1;
        g.render(&mut Planes::new(&mut buf, 6, "t"));
        assert_eq!((sum(&buf, ALIEN_LEFT), sum(&buf, ALIEN_RIGHT)), (0.0, 24.0));
    }
}

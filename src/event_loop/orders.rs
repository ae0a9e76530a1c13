//! The machine's inputs handed over, and its orders carried out.

use std::time::Instant;

use super::EventLoop;
#[cfg(not(feature = "json"))]
use crate::machine::note::{Note, Said};
use crate::machine::{Input, Order};

impl EventLoop {
    pub(super) fn input(&mut self, input: Input) {
        let orders = self.machine.handle(input, Instant::now());
        self.carry_out(orders);
    }

    pub(super) fn carry_out(&mut self, orders: Vec<Order>) {
        for order in orders {
            match order {
                Order::CloseStdin { flush } => {
                    let seen = self.duplex.close_child_stdin(flush);
                    self.pass_on(seen);
                }
                Order::HangUp => {
                    let seen = self.duplex.hang_up();
                    self.pass_on(seen);
                }
                Order::Signal(signal) => self.child.signal_scope(signal),
                Order::CutDrain => {
                    self.duplex.cut_drain();
                    self.stderr.limit_to_owed();
                }
                Order::DropOutput => {
                    let note = self.duplex.drop_output();
                    self.tell(note);
                }
                Order::LookAtScope => {
                    let left = self.left();
                    self.input(Input::ScopeLooked(left));
                }
                Order::LookAtWork => {
                    let (cpu, waited) = self.child.work();
                    self.input(Input::WorkLooked { cpu, waited });
                }
                Order::NameSurvivors => {
                    let note = self.machine.survivors(self.left().pids().to_vec());
                    self.warn(note);
                }
                order @ (Order::Run { .. } | Order::EndRun) => {
                    if let Some(note) = self.runs.carry_out(order, self.child.pid()) {
                        self.tell(note);
                    }
                }
                #[cfg(feature = "json")]
                Order::SendShutdown => {
                    let seen = self.duplex.send_shutdown();
                    self.pass_on(seen);
                }
                #[cfg(feature = "json")]
                Order::SendExit => self.duplex.send_exit(),
                #[cfg(feature = "json")]
                Order::Send { message } => {
                    let seen = self.duplex.send_message(&message);
                    self.pass_on(seen);
                }
                // Without JSON there are no messages: a shutdown step has nothing to send.
                #[cfg(not(feature = "json"))]
                Order::SendShutdown | Order::SendExit => {
                    self.tell(Note::Protocol(Said::ShutdownUnsendable));
                }
                #[cfg(not(feature = "json"))]
                Order::Send { .. } => self.tell(Note::Protocol(Said::MessageUnsendable)),
                Order::Tell(note) => self.tell(note),
                Order::Warn(note) => self.warn(note),
            }
        }
    }
}

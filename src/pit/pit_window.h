/*
 * pit_window.h
 *		What the window strategy (pit_exec_window.c) uses of the window
 *		engine: window/window.h, and one function it needs beyond that
 *		contract.
 *
 * WinLatestEvent is a proposed addition to window.h (issue 10): the join's
 * event_timestamp and created_at columns of a source group are those of the
 * best event, by (event_time, created) as the point-in-time rule orders
 * rows, among the events the windows of the point last evaluated count
 * (the longest window's, or every earlier event with an unbounded
 * feature), after WHERE, as_of and strict.  Until the engine defines it,
 * pit_window_stub.c holds a weak definition that finds none, so those
 * columns are NULL.
 */
#ifndef FEATSTORE_PIT_WINDOW_H
#define FEATSTORE_PIT_WINDOW_H

#include "window/window.h"

extern bool WinLatestEvent(WinState *state, TimestampTz *event_time,
						   TimestampTz *created, bool *created_null);

#endif							/* FEATSTORE_PIT_WINDOW_H */

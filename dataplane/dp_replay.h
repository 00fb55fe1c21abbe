/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_replay - `smtpscreen replay`: the engine over pcap files
 * CONTRACT
 *	dp_replay_main(argc, argv): argv[0] is "replay". Returns the process
 *	  exit status: 0 ok, 1 input error after which results were still
 *	  printed (truncated or corrupt pcap, bad labels row), 2 usage or
 *	  configuration error (nothing replayed).
 * THREADING
 *	Main thread; starts --threads workers.
 */
#ifndef DP_REPLAY_H
#define DP_REPLAY_H

int dp_replay_main(int argc, char **argv);

#endif

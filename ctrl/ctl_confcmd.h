/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_confcmd - `smtpscreen check` and `smtpscreen config`
 * CONTRACT
 *	See ctl_confcmd.c. argv[0] is the command word.
 * THREADING
 *	Main thread.
 */
#ifndef CTL_CONFCMD_H
#define CTL_CONFCMD_H

int ctl_confcmd_check_main(int argc, char **argv);
int ctl_confcmd_config_main(int argc, char **argv);

#endif

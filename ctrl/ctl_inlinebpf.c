/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_inlinebpf - the inline appliance's XDP object for DPDK's af_xdp PMD
 * DESCRIPTION
 *	See ctl_inlinebpf.h. Writing: the skeleton's embedded ELF is copied,
 *	its .rodata section is found through the section headers (<elf.h>),
 *	and the knobs are written at the offsets of the skeleton's rodata
 *	struct (bpftool lays it out from the object's BTF datasec); each
 *	offset is checked against the variable's symbol in .symtab first, so
 *	a layout we do not understand is an error, never a wrong patch.
 *	Adopting: the program attached to the interface is found with
 *	bpf_xdp_query, its maps through the program info's map ids, matched
 *	by name, type and key/value sizes (the .bss is "<object>.bss", named
 *	after the file the PMD opened). The program is pinned first, with
 *	bpf_obj_pin failing on an existing pin, so that two adopters cannot
 *	both succeed; then the maps; then ctl_maps_open_pinned() reopens them.
 * CONTRACT
 *	See ctl_inlinebpf.h.
 * THREADING
 *	Control thread.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "ctl_inlinebpf.h"
#include "smtpscreen_abi.h"
#include "scr_xdp_inline.skel.h"

#define CTL_IB_PROG_NAME	"scr_xdp_prog"

/* The maps of the inline object, by the pin names ctl_maps expects. */
enum ctl_ib_map_id {
	CTL_IB_BASE_A = 0,
	CTL_IB_BASE_B,
	CTL_IB_RANGES,
	CTL_IB_PERM6,
	CTL_IB_DYN4,
	CTL_IB_DYN6,
	CTL_IB_COUNTERS,
	CTL_IB_XSKS,
	CTL_IB_STATE,
	CTL_IB_MAX
};

struct ctl_ib_map {
	const char *pin;	/* pin name (ctl_maps' ctl_map_name) */
	const char *suffix;	/* kernel name ends in this (.bss); else = pin */
	__u32 type;
	__u32 key_size;
	__u32 value_size;
};

static const struct ctl_ib_map ctl_ib_map[CTL_IB_MAX] = {
	[CTL_IB_BASE_A] = { "dxr_base_a", NULL, BPF_MAP_TYPE_ARRAY, 4,
			    sizeof(struct scr_xdp_dxr_base) },
	[CTL_IB_BASE_B] = { "dxr_base_b", NULL, BPF_MAP_TYPE_ARRAY, 4,
			    sizeof(struct scr_xdp_dxr_base) },
	/* map-in-maps: their inner maps are found through them */
	[CTL_IB_RANGES] = { "dxr_ranges", NULL, BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4 },
	[CTL_IB_PERM6] = { "perm6", NULL, BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4 },
	[CTL_IB_DYN4] = { "dyn4", NULL, BPF_MAP_TYPE_HASH,
			  sizeof(struct scr_xdp_dyn4_key),
			  sizeof(struct scr_xdp_dyn_val) },
	[CTL_IB_DYN6] = { "dyn6", NULL, BPF_MAP_TYPE_HASH,
			  sizeof(struct scr_xdp_dyn6_key),
			  sizeof(struct scr_xdp_dyn_val) },
	[CTL_IB_COUNTERS] = { "counters", NULL, BPF_MAP_TYPE_PERCPU_ARRAY, 4,
			      sizeof(struct scr_xdp_ctr_val) },
	[CTL_IB_XSKS] = { "xsks_map", NULL, BPF_MAP_TYPE_XSKMAP, 4, 4 },
	[CTL_IB_STATE] = { "state", ".bss", BPF_MAP_TYPE_ARRAY, 4,
			   sizeof(struct scr_xdp_state) },
};

/* A knob of the rodata: symbol name, offset and size in the skeleton. */
struct ctl_ib_knob {
	const char *sym;
	size_t off;
	size_t size;
};

#define CTL_IB_KNOB(f) { #f, offsetof(struct scr_xdp_inline__rodata, f), \
	sizeof(((struct scr_xdp_inline__rodata *)0)->f) }

static const struct ctl_ib_knob ctl_ib_knob[] = {
	CTL_IB_KNOB(scr_ports),
	CTL_IB_KNOB(scr_nports),
	CTL_IB_KNOB(scr_block_all),
	CTL_IB_KNOB(scr_xsk_redirect),
	CTL_IB_KNOB(scr_xsk_all),
};

#define CTL_IB_NKNOBS (sizeof(ctl_ib_knob) / sizeof(ctl_ib_knob[0]))

/* ---- writing the object ---- */

/* ctl_ib_shdr - section header i of an ELF image (checked in range) */
static const Elf64_Shdr *ctl_ib_shdr(const uint8_t *elf, size_t i)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;

	return (const Elf64_Shdr *)(elf + eh->e_shoff + i * eh->e_shentsize);
}

/* ctl_ib_sect_ok - whether a section's bytes lie inside the image */
static bool ctl_ib_sect_ok(const Elf64_Shdr *sh, size_t sz)
{
	if (sh->sh_type == SHT_NOBITS)
		return true;
	return sh->sh_offset <= sz && sh->sh_size <= sz - sh->sh_offset;
}

/* ctl_ib_rodata - find .rodata and check each knob's offset against its
 * symbol; the section's file offset in *off */
static int ctl_ib_rodata(const uint8_t *elf, size_t sz, size_t *off,
			 char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	const Elf64_Shdr *shstr, *sh, *symtab = NULL, *strtab;
	const Elf64_Sym *sym;
	size_t i, k, ro = 0, nsym;
	bool seen[CTL_IB_NKNOBS] = { false };

	if (sz < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_BPF ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > sz ||
	    (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > sz - eh->e_shoff ||
	    eh->e_shstrndx >= eh->e_shnum) {
		snprintf(err, errlen, "inline XDP object: embedded ELF: bad "
			 "header");
		return -EPROTO;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
#else
	if (eh->e_ident[EI_DATA] != ELFDATA2MSB) {
#endif
		snprintf(err, errlen, "inline XDP object: embedded ELF: not "
			 "in host byte order");
		return -EPROTO;
	}
	shstr = ctl_ib_shdr(elf, eh->e_shstrndx);
	if (!ctl_ib_sect_ok(shstr, sz) || shstr->sh_size == 0 ||
	    elf[shstr->sh_offset + shstr->sh_size - 1] != '\0') {
		snprintf(err, errlen, "inline XDP object: embedded ELF: bad "
			 "section names");
		return -EPROTO;
	}
	for (i = 1; i < eh->e_shnum; i++) {
		sh = ctl_ib_shdr(elf, i);
		if (!ctl_ib_sect_ok(sh, sz) || sh->sh_name >= shstr->sh_size) {
			snprintf(err, errlen, "inline XDP object: embedded "
				 "ELF: section %zu out of range", i);
			return -EPROTO;
		}
		if (sh->sh_type == SHT_SYMTAB)
			symtab = sh;
		if (sh->sh_type == SHT_PROGBITS &&
		    strcmp((const char *)elf + shstr->sh_offset + sh->sh_name,
			   ".rodata") == 0)
			ro = i;
	}
	if (!ro || !symtab || symtab->sh_link >= eh->e_shnum ||
	    symtab->sh_entsize != sizeof(Elf64_Sym)) {
		snprintf(err, errlen, "inline XDP object: embedded ELF: no "
			 ".rodata or symbol table");
		return -EPROTO;
	}
	strtab = ctl_ib_shdr(elf, symtab->sh_link);
	if (strtab->sh_size == 0 ||
	    elf[strtab->sh_offset + strtab->sh_size - 1] != '\0') {
		snprintf(err, errlen, "inline XDP object: embedded ELF: bad "
			 "symbol names");
		return -EPROTO;
	}
	sh = ctl_ib_shdr(elf, ro);
	nsym = symtab->sh_size / sizeof(Elf64_Sym);
	for (i = 0; i < nsym; i++) {
		sym = (const Elf64_Sym *)(elf + symtab->sh_offset) + i;
		if (sym->st_shndx != ro || sym->st_name >= strtab->sh_size)
			continue;
		for (k = 0; k < CTL_IB_NKNOBS; k++) {
			if (strcmp((const char *)elf + strtab->sh_offset +
				   sym->st_name, ctl_ib_knob[k].sym))
				continue;
			if (sym->st_value != ctl_ib_knob[k].off ||
			    sym->st_size != ctl_ib_knob[k].size ||
			    sym->st_value + sym->st_size > sh->sh_size) {
				snprintf(err, errlen, "inline XDP object: "
					 "knob %s at .rodata+%llu (%llu bytes), "
					 "skeleton says +%zu (%zu)",
					 ctl_ib_knob[k].sym,
					 (unsigned long long)sym->st_value,
					 (unsigned long long)sym->st_size,
					 ctl_ib_knob[k].off,
					 ctl_ib_knob[k].size);
				return -EPROTO;
			}
			seen[k] = true;
		}
	}
	for (k = 0; k < CTL_IB_NKNOBS; k++) {
		if (!seen[k]) {
			snprintf(err, errlen, "inline XDP object: knob %s not "
				 "in .rodata", ctl_ib_knob[k].sym);
			return -EPROTO;
		}
	}
	*off = sh->sh_offset;
	return 0;
}

/* ctl_ib_write_all - write a whole buffer to fd */
static int ctl_ib_write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ctl_inlinebpf_write - the object with the knobs set, to path */
int ctl_inlinebpf_write(const struct ctl_inlinebpf_knobs *k, const char *path,
			char *err, size_t errlen)
{
	struct scr_xdp_inline__rodata ro = {};
	const uint8_t *src;
	uint8_t *elf = NULL;
	char tmp[PATH_MAX];
	size_t sz = 0, off, i;
	bool have_tmp = false;
	int fd = -1, rc;

	if (!k || !path || !*path) {
		snprintf(err, errlen, "inline XDP object: no knobs or path");
		return -EINVAL;
	}
	if (k->nports == 0 || k->nports > SCR_XDP_MAX_PORTS || !k->ports) {
		snprintf(err, errlen, "inline XDP object: %u SMTP ports "
			 "(1..%d)", k->nports, SCR_XDP_MAX_PORTS);
		return -EINVAL;
	}
	for (i = 0; i < k->nports; i++) {
		if (k->ports[i] == 0) {
			snprintf(err, errlen, "inline XDP object: SMTP port 0");
			return -EINVAL;
		}
		ro.scr_ports[i] = k->ports[i];
	}
	ro.scr_nports = k->nports;
	ro.scr_block_all = k->block_all;
	ro.scr_xsk_redirect = 1;
	ro.scr_xsk_all = 1;

	src = scr_xdp_inline__elf_bytes(&sz);
	rc = ctl_ib_rodata(src, sz, &off, err, errlen);
	if (rc)
		goto out;
	elf = malloc(sz);
	if (!elf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "inline XDP object: out of memory");
		goto out;
	}
	memcpy(elf, src, sz);
	for (i = 0; i < CTL_IB_NKNOBS; i++)
		memcpy(elf + off + ctl_ib_knob[i].off,
		       (const uint8_t *)&ro + ctl_ib_knob[i].off,
		       ctl_ib_knob[i].size);

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		rc = -ENAMETOOLONG;
		snprintf(err, errlen, "inline XDP object %s: path too long",
			 path);
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "inline XDP object %s: create: %s", path,
			 strerror(errno));
		goto out;
	}
	have_tmp = true;
	if (fchmod(fd, 0600)) {
		rc = -errno;
		snprintf(err, errlen, "inline XDP object %s: chmod: %s", tmp,
			 strerror(errno));
		goto out;
	}
	rc = ctl_ib_write_all(fd, elf, sz);
	if (!rc && fsync(fd))
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "inline XDP object %s: write: %s", tmp,
			 strerror(-rc));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		snprintf(err, errlen, "inline XDP object %s: close: %s", tmp,
			 strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		rc = -errno;
		snprintf(err, errlen, "inline XDP object %s: rename: %s", path,
			 strerror(errno));
		goto out;
	}
	have_tmp = false;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	free(elf);
	return rc;
}

/* ---- adopting the attached program ---- */

/* ctl_ib_match - which of our maps an info describes; -1 none */
static int ctl_ib_match(const struct bpf_map_info *mi)
{
	size_t nl = strnlen(mi->name, sizeof(mi->name)), sl;
	int i;

	for (i = 0; i < CTL_IB_MAX; i++) {
		const struct ctl_ib_map *d = &ctl_ib_map[i];

		if (d->suffix) {
			sl = strlen(d->suffix);
			if (nl >= sl && memcmp(mi->name + nl - sl, d->suffix,
					       sl) == 0)
				return i;
		} else if (strcmp(mi->name, d->pin) == 0) {
			return i;
		}
	}
	return -1;
}

/* ctl_ib_find_maps - fds of our maps among the program's; checks name,
 * type and sizes. fds[] is filled with -1 first. */
static int ctl_ib_find_maps(int prog_fd, const struct bpf_prog_info *pi,
			    int fds[CTL_IB_MAX], char *err, size_t errlen)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info), *ids = NULL, i, n = pi->nr_map_ids;
	int rc = 0, idx, fd, j;

	for (j = 0; j < CTL_IB_MAX; j++)
		fds[j] = -1;
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	info.nr_map_ids = n;
	info.map_ids = (__u64)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &ilen)) {
		rc = -errno;
		snprintf(err, errlen, "XDP program %s (id %u): info: %s",
			 pi->name, pi->id, strerror(errno));
		goto out;
	}
	if (info.nr_map_ids < n)
		n = info.nr_map_ids;
	for (i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);

		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "XDP program %s (id %u): map id "
				 "%u: %s", pi->name, pi->id, ids[i],
				 strerror(errno));
			goto out;
		}
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			rc = -errno;
			close(fd);
			snprintf(err, errlen, "XDP program %s (id %u): map id "
				 "%u: info: %s", pi->name, pi->id, ids[i],
				 strerror(errno));
			goto out;
		}
		idx = ctl_ib_match(&mi);
		if (idx < 0 || fds[idx] >= 0) {
			close(fd);	/* .rodata, or not one of ours */
			continue;
		}
		if (mi.type != ctl_ib_map[idx].type ||
		    mi.key_size != ctl_ib_map[idx].key_size ||
		    mi.value_size != ctl_ib_map[idx].value_size) {
			close(fd);
			rc = -EMEDIUMTYPE;
			snprintf(err, errlen, "XDP program %s (id %u): map %s "
				 "(id %u) is type %u key %u value %u bytes, "
				 "smtpscreen's is type %u key %u value %u: not "
				 "smtpscreen's inline object", pi->name, pi->id,
				 mi.name, mi.id, mi.type, mi.key_size,
				 mi.value_size, ctl_ib_map[idx].type,
				 ctl_ib_map[idx].key_size,
				 ctl_ib_map[idx].value_size);
			goto out;
		}
		fds[idx] = fd;
	}
	for (j = 0; j < CTL_IB_MAX; j++) {
		if (fds[j] < 0) {
			rc = -EMEDIUMTYPE;
			snprintf(err, errlen, "XDP program %s (id %u) has no "
				 "map %s: not smtpscreen's inline object",
				 pi->name, pi->id, ctl_ib_map[j].suffix ?
				 ctl_ib_map[j].suffix : ctl_ib_map[j].pin);
			goto out;
		}
	}
out:
	if (rc)
		for (j = 0; j < CTL_IB_MAX; j++)
			if (fds[j] >= 0) {
				close(fds[j]);
				fds[j] = -1;
			}
	free(ids);
	return rc;
}

/* ctl_ib_pin - pin fd at dir/name, replacing a stale pin */
static int ctl_ib_pin(int fd, const char *dir, const char *name, char *err,
		      size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if (bpf_obj_pin(fd, path)) {
		int rc = -errno;

		snprintf(err, errlen, "pin %s: %s", path, strerror(errno));
		return rc;
	}
	return 0;
}

/* ctl_inlinebpf_adopt_fd - check a program is ours, pin it and its maps */
struct ctl_maps *ctl_inlinebpf_adopt_fd(int prog_fd, const char *pin_dir,
					char *err, size_t errlen)
{
	struct bpf_prog_info pi = {};
	__u32 plen = sizeof(pi);
	struct ctl_maps *m = NULL;
	char path[PATH_MAX];
	int fds[CTL_IB_MAX], i, rc, pinned = 0;

	for (i = 0; i < CTL_IB_MAX; i++)
		fds[i] = -1;
	if (!pin_dir)
		pin_dir = SCR_XDP_PIN_DIR;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &plen)) {
		rc = -errno;
		snprintf(err, errlen, "XDP program: info: %s", strerror(errno));
		goto out;
	}
	if (pi.type != BPF_PROG_TYPE_XDP ||
	    strcmp(pi.name, CTL_IB_PROG_NAME) != 0) {
		rc = -EMEDIUMTYPE;
		snprintf(err, errlen, "the XDP program there is \"%s\" (id %u, "
			 "type %u), not smtpscreen's %s", pi.name, pi.id,
			 pi.type, CTL_IB_PROG_NAME);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/prog", pin_dir);
	if (access(path, F_OK) == 0) {
		rc = -EEXIST;
		snprintf(err, errlen, "%s: already loaded (%s exists): "
			 "another smtpscreen owns that pin directory", pin_dir,
			 path);
		goto out;
	}
	rc = ctl_ib_find_maps(prog_fd, &pi, fds, err, errlen);
	if (rc)
		goto out;
	rc = ctl_maps_bpffs(pin_dir);
	if (rc) {
		snprintf(err, errlen, "%s: mount the bpf file system: %s",
			 pin_dir, rc == -EXDEV ? CTL_MAPS_NO_BPFFS : strerror(-rc));
		goto out;
	}
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "%s: mkdir: %s", pin_dir,
			 strerror(errno));
		goto out;
	}
	/* The program first: bpf_obj_pin fails on an existing pin, so one
	 * adopter wins a race and the other is told "already loaded". */
	if (bpf_obj_pin(prog_fd, path)) {
		rc = -errno;
		if (errno == EEXIST)
			snprintf(err, errlen, "%s: already loaded (%s exists)",
				 pin_dir, path);
		else
			snprintf(err, errlen, "pin %s: %s", path,
				 strerror(errno));
		goto out;
	}
	pinned = 1;
	for (i = 0; i < CTL_IB_MAX; i++) {
		rc = ctl_ib_pin(fds[i], pin_dir, ctl_ib_map[i].pin, err, errlen);
		if (rc)
			goto out;
	}
	m = ctl_maps_open_pinned(pin_dir, err, errlen);
	if (!m)
		rc = errno ? -errno : -EIO;
out:
	for (i = 0; i < CTL_IB_MAX; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (rc) {
		if (pinned)
			ctl_maps_unpin(pin_dir);
		errno = -rc;
		return NULL;
	}
	return m;
}

/* ctl_inlinebpf_adopt - adopt the program the PMD attached to ifname */
struct ctl_maps *ctl_inlinebpf_adopt(const char *ifname, const char *pin_dir,
				     char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct ctl_maps *m;
	unsigned ifindex;
	__u32 id;
	int fd, rc, e;

	ifindex = ifname ? if_nametoindex(ifname) : 0;
	if (!ifindex) {
		snprintf(err, errlen, "interface %s: %s", ifname ? ifname : "",
			 strerror(ifname ? errno : EINVAL));
		errno = ENODEV;
		return NULL;
	}
	rc = bpf_xdp_query((int)ifindex, 0, &q);
	if (rc) {
		snprintf(err, errlen, "interface %s: query XDP: %s", ifname,
			 strerror(-rc));
		errno = -rc;
		return NULL;
	}
	id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id :
	     q.hw_prog_id;
	if (!id) {
		snprintf(err, errlen, "interface %s: no XDP program attached "
			 "(the af_xdp port loads xdp_prog= when it starts)",
			 ifname);
		errno = ENOENT;
		return NULL;
	}
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "interface %s: XDP program id %u: %s",
			 ifname, id, strerror(e));
		errno = e;
		return NULL;
	}
	m = ctl_inlinebpf_adopt_fd(fd, pin_dir, err, errlen);
	e = errno;
	if (!m && e != EEXIST) {
		char tail[256];

		/* Say which interface the message is about. */
		snprintf(tail, sizeof(tail), "%s", err);
		snprintf(err, errlen, "interface %s: %s", ifname, tail);
	}
	close(fd);
	errno = e;
	return m;
}

/* ctl_inlinebpf_release - remove the pins */
int ctl_inlinebpf_release(const char *pin_dir)
{
	return ctl_maps_unpin(pin_dir);
}

/* ctl_inlinebpf_recover - what a killed appliance left: its program still
 * attached to ifname (the PMD's attachment outlives the process) and its
 * pins. The program is detached only if it is the one pinned in pin_dir
 * (ours); then the pins go. 1 recovered, 0 nothing pinned, -errno. */
int ctl_inlinebpf_recover(const char *ifname, const char *pin_dir, char *err,
			  size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	struct bpf_prog_info info;
	__u32 len = sizeof(info), cur;
	char path[PATH_MAX];
	unsigned ifindex;
	int fd, rc;

	if (pin_dir == NULL)
		pin_dir = SCR_XDP_PIN_DIR;
	snprintf(path, sizeof(path), "%s/prog", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	ifindex = ifname ? if_nametoindex(ifname) : 0;
	if (ifindex && bpf_xdp_query((int)ifindex, 0, &q) == 0) {
		cur = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
		if (cur == info.id) {
			a.old_prog_fd = fd;
			rc = bpf_xdp_detach((int)ifindex, XDP_FLAGS_REPLACE |
					    (q.drv_prog_id ? XDP_FLAGS_DRV_MODE :
					     XDP_FLAGS_SKB_MODE), &a);
			if (rc != 0) {
				snprintf(err, errlen, "interface %s: detach the "
					 "XDP program a killed smtpscreen left "
					 "(id %u): %s", ifname, info.id,
					 strerror(-rc));
				close(fd);
				return rc;
			}
		}
	}
	close(fd);
	rc = ctl_maps_unpin(pin_dir);
	if (rc != 0 && rc != -ENOENT) {
		snprintf(err, errlen, "%s: remove the pins a killed smtpscreen "
			 "left: %s", pin_dir, strerror(-rc));
		return rc;
	}
	return 1;
}

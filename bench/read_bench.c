/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	read_bench - how replay should read a capture: read() into a buffer
 *	against mmap windows (read-bench)
 * DESCRIPTION
 *	Issue 15 asks for a zero-copy read of classic pcap "mmap, or large
 *	aligned reads — measure". This measures the two on a file in the page
 *	cache, one pass each, alternately, touching one byte in every 256 as
 *	replay touches the headers of the packets:
 *	  read W     read() of W MiB at a time into one page-aligned buffer
 *	             (dp_pcapin's way: the kernel copies every byte);
 *	  mmap W     mmap() of W MiB windows, MAP_PRIVATE, faulted on touch;
 *	  populate W the same with MAP_POPULATE (page tables filled at once).
 *	Prints CPU and elapsed seconds of each and the ratio to read 1.
 * CONTRACT
 *	read-bench FILE [REPS]   (default 3). Exit 0, or 1 with a message.
 * THREADING
 *	Single-threaded program.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum way { WAY_READ, WAY_MMAP, WAY_POPULATE };

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* pass - one pass over fd's size bytes; the sum of the bytes touched, or
 * -1 on an error (printed) */
static int64_t pass(int fd, size_t size, enum way w, size_t win)
{
	int64_t sum = 0;

	if (w == WAY_READ) {
		uint8_t *b = aligned_alloc(4096, win);
		ssize_t n;

		if (b == NULL || lseek(fd, 0, SEEK_SET) != 0) {
			perror("read-bench");
			free(b);
			return -1;
		}
		while ((n = read(fd, b, win)) > 0)
			for (ssize_t i = 0; i < n; i += 256)
				sum += b[i];
		free(b);
		if (n < 0) {
			perror("read-bench: read");
			return -1;
		}
		return sum;
	}
	for (size_t off = 0; off < size; off += win) {
		size_t len = size - off < win ? size - off : win;
		uint8_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE |
				  (w == WAY_POPULATE ? MAP_POPULATE : 0), fd, (off_t)off);

		if (p == MAP_FAILED) {
			perror("read-bench: mmap");
			return -1;
		}
		for (size_t i = 0; i < len; i += 256)
			sum += p[i];
		munmap(p, len);
	}
	return sum;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum way w;
		size_t mib;
	} ways[] = {
		{ "read", WAY_READ, 1 }, { "read", WAY_READ, 16 },
		{ "mmap", WAY_MMAP, 64 }, { "populate", WAY_POPULATE, 16 },
		{ "populate", WAY_POPULATE, 64 },
	};
	enum { NW = sizeof(ways) / sizeof(ways[0]) };
	double cpu[NW] = { 0 }, wall[NW] = { 0 };
	int reps = argc > 2 ? atoi(argv[2]) : 3, fd;
	int64_t want = -1;
	struct stat st;

	if (argc < 2 || reps < 1) {
		fprintf(stderr, "usage: read-bench FILE [REPS]\n");
		return 1;
	}
	if ((fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	for (int r = 0; r < reps; r++) {
		for (int k = 0; k < NW; k++) {
			double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
			int64_t sum = pass(fd, (size_t)st.st_size, ways[k].w, ways[k].mib << 20);

			if (sum < 0)
				return 1;
			if (want >= 0 && sum != want) {
				fprintf(stderr, "read-bench: %s %zu read other bytes\n",
					ways[k].name, ways[k].mib);
				return 1;
			}
			want = sum;
			cpu[k] += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
			wall[k] += clock_s(CLOCK_MONOTONIC) - w0;
		}
	}
	printf("file=%s bytes=%lld reps=%d (sums of the reps)\n", argv[1],
	       (long long)st.st_size, reps);
	for (int k = 0; k < NW; k++)
		printf("%-8s %3zu MiB  cpu_s=%.3f elapsed_s=%.3f cpu_vs_read1=%.2f\n",
		       ways[k].name, ways[k].mib, cpu[k], wall[k], cpu[k] / cpu[0]);
	close(fd);
	return 0;
}

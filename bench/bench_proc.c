/*
 * bench_proc: the processes a run measures. Each is our child, started in
 * the run's private directory, found by pid and only by pid, stopped with
 * SIGTERM and a deadline, then SIGKILL.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench/bench_run.h"
#include "tools/client.h"

#define PROC_START_MS	5000	/* a server must answer within this */

int
bench_dir_make(char *dir, size_t len)
{
	const char	*tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, len, "%s/callosum-bench.XXXXXX", tmp) >=
	    len || mkdtemp(dir) == NULL) {
		fprintf(stderr, "callosum-bench: mkdtemp in %s: %s\n", tmp,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

void
bench_dir_remove(const char *dir)
{
	static const char *const	 names[] = { "callosum.sock",
	    "callosumd.log", "redis.sock", "redis.log", NULL };
	char				 path[PATH_MAX];
	int				 i;

	for (i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	if (rmdir(dir) == -1)
		fprintf(stderr, "callosum-bench: rmdir %s: %s\n", dir,
		    strerror(errno));
}

int
bench_cpu_split(cpu_set_t *server, cpu_set_t *clients)
{
	cpu_set_t	all;
	int		i, last = -1, n = 0;

	if (sched_getaffinity(0, sizeof(all), &all) == -1)
		return (-1);
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (CPU_ISSET(i, &all)) {
			last = i;
			n++;
		}
	}
	if (n < 2)
		return (-1);
	CPU_ZERO(server);
	CPU_SET(last, server);
	*clients = all;
	CPU_CLR(last, clients);
	return (0);
}

/*
 * Forks argv[0] with stdout and stderr to logpath, pinned to pin when set.
 * The child never returns.
 */
static pid_t
proc_fork(char *const argv[], const char *logpath, const cpu_set_t *pin,
    bool path_search)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) != 0)
		return (pid);
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	/* Before exec, so that the server never runs on a client CPU. */
	if (pin != NULL && sched_setaffinity(0, sizeof(*pin), pin) == -1)
		fprintf(stderr, "sched_setaffinity: %s\n", strerror(errno));
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (path_search)
		execvp(argv[0], argv);
	else
		execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Prints the end of a child's log, for a failed start. */
static void
proc_show_log(const char *logpath)
{
	char	 buf[2048];
	FILE	*f;
	size_t	 n;
	long	 sz;

	if ((f = fopen(logpath, "r")) == NULL)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) > (long)sizeof(buf))
		fseek(f, sz - (long)sizeof(buf), SEEK_SET);
	else
		fseek(f, 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n > 0)
		fprintf(stderr, "--- %s:\n%.*s", logpath, (int)n, buf);
}

/* True (and reaped) when the child has exited already. */
static bool
proc_exited(struct bench_proc *pr, int *status)
{
	if (pr->pid > 0 && waitpid(pr->pid, status, WNOHANG) == pr->pid) {
		pr->pid = -1;
		return (true);
	}
	return (false);
}

static void
proc_sleep_ms(unsigned ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The callosumd to run: $CALLOSUMD, else next to /proc/self/exe. */
static int
proc_router_path(char *out, size_t len)
{
	const char	*env = getenv("CALLOSUMD");
	char		 self[PATH_MAX];
	ssize_t		 n;

	if (env != NULL && *env != '\0') {
		if ((size_t)snprintf(out, len, "%s", env) >= len)
			return (-1);
		return (0);
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return (-1);
	self[n] = '\0';
	if ((size_t)snprintf(out, len, "%s/callosumd", dirname(self)) >= len)
		return (-1);
	return (0);
}

int
bench_spawn_router(struct bench_proc *pr, const char *dir,
    const char *redis_url, const char *config, const cpu_set_t *pin)
{
	struct client_hello	 h = { .agent = "callosum-bench-probe" };
	struct client		*c;
	char			 path[PATH_MAX];
	char			*argv[10];
	const char		*code;
	uint64_t		 deadline;
	int			 argc = 0, status;

	memset(pr, 0, sizeof(*pr));
	pr->pid = -1;
	if (proc_router_path(path, sizeof(path)) == -1 ||
	    access(path, X_OK) == -1) {
		fprintf(stderr, "callosum-bench: no callosumd at %s (set "
		    "CALLOSUMD)\n", path);
		return (-1);
	}
	snprintf(pr->sock, sizeof(pr->sock), "%s/callosum.sock", dir);
	snprintf(pr->log, sizeof(pr->log), "%s/callosumd.log", dir);
	argv[argc++] = path;
	argv[argc++] = "--socket";
	argv[argc++] = pr->sock;
	argv[argc++] = "--log-level";
	argv[argc++] = "warn";
	if (redis_url != NULL) {
		argv[argc++] = "--redis";
		argv[argc++] = (char *)redis_url;
	}
	if (config != NULL) {
		argv[argc++] = "--config";	/* the flags above win */
		argv[argc++] = (char *)config;
	}
	argv[argc] = NULL;
	if ((pr->pid = proc_fork(argv, pr->log, pin, false)) == -1) {
		fprintf(stderr, "callosum-bench: fork: %s\n", strerror(errno));
		return (-1);
	}
	deadline = bench_now_ns() + PROC_START_MS * UINT64_C(1000000);
	while (bench_now_ns() < deadline) {
		if (proc_exited(pr, &status)) {
			fprintf(stderr, "callosum-bench: callosumd exited at "
			    "start (status %d)\n", status);
			proc_show_log(pr->log);
			return (-1);
		}
		if ((c = client_connect(pr->sock)) != NULL) {
			if (client_hello(c, &h, 1000, &code) == 0) {
				client_close(c);
				return (0);
			}
			client_close(c);
		}
		proc_sleep_ms(5);
	}
	fprintf(stderr, "callosum-bench: callosumd did not answer on %s "
	    "within %d ms\n", pr->sock, PROC_START_MS);
	proc_show_log(pr->log);
	bench_proc_stop(pr, 1000);
	return (-1);
}

int
bench_spawn_redis(struct bench_proc *pr, const char *dir, const cpu_set_t *pin)
{
	redisContext	*rc;
	redisReply	*rep;
	char		*argv[20];
	uint64_t	 deadline;
	int		 argc = 0, status, ok;

	memset(pr, 0, sizeof(*pr));
	pr->pid = -1;
	snprintf(pr->sock, sizeof(pr->sock), "%s/redis.sock", dir);
	snprintf(pr->log, sizeof(pr->log), "%s/redis.log", dir);
	argv[argc++] = "redis-server";
	argv[argc++] = "--port";
	argv[argc++] = "0";
	argv[argc++] = "--unixsocket";
	argv[argc++] = pr->sock;
	argv[argc++] = "--unixsocketperm";
	argv[argc++] = "700";
	argv[argc++] = "--save";
	argv[argc++] = "";
	argv[argc++] = "--appendonly";
	argv[argc++] = "no";
	argv[argc++] = "--dir";
	argv[argc++] = (char *)dir;
	argv[argc++] = "--daemonize";
	argv[argc++] = "no";
	argv[argc] = NULL;
	if ((pr->pid = proc_fork(argv, pr->log, pin, true)) == -1) {
		fprintf(stderr, "callosum-bench: fork: %s\n", strerror(errno));
		return (-1);
	}
	deadline = bench_now_ns() + PROC_START_MS * UINT64_C(1000000);
	while (bench_now_ns() < deadline) {
		if (proc_exited(pr, &status)) {
			fprintf(stderr, "callosum-bench: redis-server exited "
			    "at start (status %d)\n", status);
			proc_show_log(pr->log);
			return (-1);
		}
		if ((rc = redisConnectUnix(pr->sock)) != NULL && rc->err == 0) {
			rep = redisCommand(rc, "PING");
			ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
			if (rep != NULL)
				freeReplyObject(rep);
			redisFree(rc);
			if (ok)
				return (0);
		} else if (rc != NULL)
			redisFree(rc);
		proc_sleep_ms(5);
	}
	fprintf(stderr, "callosum-bench: redis-server did not answer on %s\n",
	    pr->sock);
	proc_show_log(pr->log);
	bench_proc_stop(pr, 1000);
	return (-1);
}

int
bench_proc_stop(struct bench_proc *pr, int timeout_ms)
{
	uint64_t	deadline;
	int		status;

	if (pr->pid <= 0)
		return (-1);
	kill(pr->pid, SIGTERM);
	deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
	while (bench_now_ns() < deadline) {
		if (proc_exited(pr, &status))
			return (status);
		proc_sleep_ms(5);
	}
	fprintf(stderr, "callosum-bench: pid %ld ignored SIGTERM for %d ms; "
	    "SIGKILL\n", (long)pr->pid, timeout_ms);
	kill(pr->pid, SIGKILL);
	waitpid(pr->pid, &status, 0);
	pr->pid = -1;
	return (status);
}

long
bench_rss_kib(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return (kib);
}

double
bench_proc_cpu_s(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	FILE			*f;
	size_t			 n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces: fields 14 and 15 count from the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return (-1);
	return ((double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
}

double
bench_sys_busy_s(void)
{
	unsigned long long	 v[8];
	FILE			*f;
	int			 n;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return (-1);
	/* user nice system idle iowait irq softirq steal */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return (-1);
	return ((double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	    (double)sysconf(_SC_CLK_TCK));
}

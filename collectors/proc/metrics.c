/*
 * metrics: the catalogue of every metric the /proc collector produces,
 * with the reason each one exists.  HELP lines, monitord-metrics(7) and
 * its test read this table; names and units follow node_exporter and the
 * Prometheus client libraries' process metrics.
 */
#include "config.h"

#include <string.h>

#include "proc_impl.h"

#define G	METRIC_GAUGE
#define C	METRIC_COUNTER
/* A /proc/meminfo field in kB, and one without a unit (a count). */
#define MEM(field, help)	{ "node_memory_" field "_bytes", G, "", help }
#define MEMN(field, help)	{ "node_memory_" field, G, "", help }

const struct metric_def proc_metrics[] = {
	/* proc/stat */
	{ "node_cpu_seconds_total", C, "cpu mode",
	  "Seconds each CPU spent in each mode (user, nice, system, idle, "
	  "iowait, irq, softirq, steal). "
	  "The utilisation of the USE method: one minus the rate of idle is "
	  "how busy a CPU is, and steal is time a hypervisor took away." },
	{ "node_cpu_guest_seconds_total", C, "cpu mode",
	  "Seconds each CPU ran virtual machines (mode user or nice), already "
	  "included in the user and nice modes of node_cpu_seconds_total. "
	  "Tells a busy host from busy guests." },
	{ "node_boot_time_seconds", G, "",
	  "When the machine booted, as Unix time. "
	  "A change means a reboot, which explains a reset of every counter." },
	{ "node_context_switches_total", C, "",
	  "Context switches on all CPUs since boot. "
	  "A rate far above normal means lock contention or more runnable "
	  "threads than CPUs." },
	{ "node_forks_total", C, "",
	  "Processes and threads created since boot. "
	  "A high rate reveals a crash-looping service or a program that "
	  "spawns a process per request." },
	{ "node_intr_total", C, "",
	  "Interrupts serviced since boot. "
	  "A sudden rise points at a busy or misbehaving device." },
	{ "node_procs_running", G, "",
	  "Tasks runnable right now. "
	  "More than the number of CPUs means tasks queue for a CPU: CPU "
	  "saturation." },
	{ "node_procs_blocked", G, "",
	  "Tasks blocked waiting for I/O right now. "
	  "Above zero for long means the disks or network storage are "
	  "saturated." },

	/* proc/loadavg */
	{ "node_load1", G, "",
	  "Load average over 1 minute: tasks running or waiting for a CPU or "
	  "for uninterruptible I/O. "
	  "Compared with the number of CPUs it is a quick saturation signal." },
	{ "node_load5", G, "",
	  "Load average over 5 minutes. "
	  "Above node_load1 the load is falling, below it the load is "
	  "rising." },
	{ "node_load15", G, "",
	  "Load average over 15 minutes. "
	  "The baseline the shorter averages are judged against." },

	/* proc/pressure */
	{ "node_pressure_cpu_waiting_seconds_total", C, "",
	  "Seconds in which at least one task waited for a CPU (PSI some). "
	  "Its rate is the share of time work was delayed by CPU shortage: "
	  "CPU saturation." },
	{ "node_pressure_cpu_stalled_seconds_total", C, "",
	  "Seconds in which every non-idle task waited for a CPU at once "
	  "(PSI full, Linux 5.13 and later)." },
	{ "node_pressure_memory_waiting_seconds_total", C, "",
	  "Seconds in which at least one task stalled on memory: reclaim, "
	  "swap-in, refaults. "
	  "The earliest sign of memory saturation, well before the OOM "
	  "killer." },
	{ "node_pressure_memory_stalled_seconds_total", C, "",
	  "Seconds in which every non-idle task stalled on memory at once. "
	  "The machine did nothing but wait for memory." },
	{ "node_pressure_io_waiting_seconds_total", C, "",
	  "Seconds in which at least one task waited for I/O. "
	  "I/O saturation as the tasks feel it." },
	{ "node_pressure_io_stalled_seconds_total", C, "",
	  "Seconds in which every non-idle task waited for I/O at once." },

	/* proc/meminfo */
	MEM("MemTotal", "Usable RAM: physical memory minus what the kernel "
	    "reserved at boot."),
	MEM("MemFree", "RAM not used for anything. "
	    "Low is normal, since the page cache uses spare RAM: watch "
	    "MemAvailable instead."),
	MEM("MemAvailable", "Memory available for new work without swapping, "
	    "free memory plus what can be reclaimed. "
	    "One minus MemAvailable over MemTotal is the memory utilisation of "
	    "the USE method."),
	MEM("Buffers", "Memory in block device buffers, mostly filesystem "
	    "metadata."),
	MEM("Cached", "Page cache: file contents kept in memory and given back "
	    "when applications need it."),
	MEM("SwapCached", "Memory swapped out and back in that is still in "
	    "swap too."),
	MEM("Active", "Memory used recently, reclaimed last."),
	MEM("Inactive", "Memory not used recently, reclaimed first."),
	MEM("Active_anon", "Anonymous memory (heaps, stacks) used recently."),
	MEM("Inactive_anon", "Anonymous memory not used recently: the first "
	    "candidate for swap."),
	MEM("Active_file", "Page cache used recently."),
	MEM("Inactive_file", "Page cache not used recently: the first to be "
	    "reclaimed."),
	MEM("Unevictable", "Memory that cannot be reclaimed: locked pages, "
	    "ramfs."),
	MEM("Mlocked", "Memory locked in RAM with mlock(2)."),
	MEM("SwapTotal", "Swap space."),
	MEM("SwapFree", "Unused swap space. "
	    "Swap filling up means memory is saturated."),
	MEM("Zswap", "Memory used by the zswap compressed swap cache."),
	MEM("Zswapped", "Anonymous memory stored in zswap, before "
	    "compression."),
	MEM("Dirty", "Memory waiting to be written back to disk. "
	    "A large value means writes outpace the disks."),
	MEM("Writeback", "Memory being written back to disk now."),
	MEM("AnonPages", "Anonymous pages mapped into processes: the memory "
	    "applications asked for."),
	MEM("Mapped", "Files mapped into memory, such as libraries."),
	MEM("Shmem", "Shared memory and tmpfs contents, which only swap can "
	    "free."),
	MEM("KReclaimable", "Kernel memory that can be reclaimed under "
	    "pressure."),
	MEM("Slab", "Kernel data structure caches."),
	MEM("SReclaimable", "Slab memory that can be reclaimed, such as "
	    "dentry and inode caches."),
	MEM("SUnreclaim", "Slab memory that cannot be reclaimed. "
	    "Steady growth suggests a kernel memory leak."),
	MEM("KernelStack", "Memory used by kernel stacks, one per thread."),
	MEM("PageTables", "Memory used by page tables. "
	    "It grows with the memory many processes map."),
	MEM("SecPageTables", "Memory used by secondary page tables (KVM, "
	    "IOMMU)."),
	MEM("NFS_Unstable", "NFS pages sent to the server but not yet "
	    "committed (always zero since Linux 5.8)."),
	MEM("Bounce", "Memory used for block device bounce buffers."),
	MEM("WritebackTmp", "Memory used by FUSE for temporary writeback "
	    "buffers."),
	MEM("CommitLimit", "Memory that can be committed under strict "
	    "overcommit (vm.overcommit_memory 2)."),
	MEM("Committed_AS", "Memory promised to processes: what they would use "
	    "if they touched all they allocated. "
	    "Above CommitLimit a host with strict overcommit refuses "
	    "allocations."),
	MEM("VmallocTotal", "Size of the kernel's vmalloc address space."),
	MEM("VmallocUsed", "Kernel vmalloc space in use."),
	MEM("VmallocChunk", "Largest free block of kernel vmalloc space."),
	MEM("Percpu", "Memory used by per-CPU allocations."),
	MEM("HardwareCorrupted", "Memory the kernel took out of use after "
	    "hardware errors. "
	    "Above zero means failing RAM."),
	MEM("AnonHugePages", "Anonymous memory in transparent huge pages."),
	MEM("ShmemHugePages", "Shared memory and tmpfs in huge pages."),
	MEM("ShmemPmdMapped", "Shared memory mapped into processes with huge "
	    "pages."),
	MEM("FileHugePages", "Page cache in huge pages."),
	MEM("FilePmdMapped", "Page cache mapped into processes with huge "
	    "pages."),
	MEM("CmaTotal", "Memory reserved for the contiguous memory "
	    "allocator."),
	MEM("CmaFree", "Free memory in the contiguous memory allocator's "
	    "reserve."),
	MEM("Unaccepted", "Memory a confidential computing guest has not "
	    "accepted yet."),
	MEM("Balloon", "Memory taken back by the hypervisor through a balloon "
	    "driver."),
	MEMN("HugePages_Total", "Huge pages in the pool (a count, not "
	    "bytes)."),
	MEMN("HugePages_Free", "Huge pages of the pool not yet allocated."),
	MEMN("HugePages_Rsvd", "Huge pages reserved but not yet faulted in."),
	MEMN("HugePages_Surp", "Huge pages beyond the pool size "
	    "(overcommitted)."),
	MEM("Hugepagesize", "Size of a default huge page."),
	MEM("Hugetlb", "Memory used by huge pages of every size."),
	MEM("DirectMap4k", "Kernel direct mapping in 4 KiB pages."),
	MEM("DirectMap2M", "Kernel direct mapping in 2 MiB pages."),
	MEM("DirectMap1G", "Kernel direct mapping in 1 GiB pages."),

	/* proc/diskstats */
	{ "node_disk_reads_completed_total", C, "device",
	  "Reads completed by the device. "
	  "With the writes, the I/O operations per second the device is "
	  "asked for." },
	{ "node_disk_reads_merged_total", C, "device",
	  "Adjacent reads merged before they reached the device. "
	  "A high share means sequential reading." },
	{ "node_disk_read_bytes_total", C, "device",
	  "Bytes read from the device. "
	  "The read throughput, to compare with what the device can "
	  "deliver." },
	{ "node_disk_read_time_seconds_total", C, "device",
	  "Seconds spent by all reads, from queueing to completion. "
	  "Divided by the reads completed it is the average read latency." },
	{ "node_disk_writes_completed_total", C, "device",
	  "Writes completed by the device." },
	{ "node_disk_writes_merged_total", C, "device",
	  "Adjacent writes merged before they reached the device." },
	{ "node_disk_written_bytes_total", C, "device",
	  "Bytes written to the device. "
	  "The write throughput, to compare with what the device can "
	  "absorb." },
	{ "node_disk_write_time_seconds_total", C, "device",
	  "Seconds spent by all writes, from queueing to completion. "
	  "Divided by the writes completed it is the average write latency." },
	{ "node_disk_io_now", G, "device",
	  "I/O requests in flight on the device now. "
	  "A queue that stays long means the device is saturated." },
	{ "node_disk_io_time_seconds_total", C, "device",
	  "Seconds the device had at least one request in flight. "
	  "Its rate is the device's utilisation, 1 meaning busy all the "
	  "time." },
	{ "node_disk_io_time_weighted_seconds_total", C, "device",
	  "Seconds of requests in flight, weighted by how many were in "
	  "flight. "
	  "Its rate is the average queue length: the device's saturation." },
	{ "node_disk_discards_completed_total", C, "device",
	  "Discards (TRIM) completed, Linux 4.18 and later. "
	  "Shows how much freed space the filesystem reports to an SSD." },
	{ "node_disk_discards_merged_total", C, "device",
	  "Adjacent discards merged, Linux 4.18 and later." },
	{ "node_disk_discarded_sectors_total", C, "device",
	  "Sectors of 512 bytes discarded, Linux 4.18 and later." },
	{ "node_disk_discard_time_seconds_total", C, "device",
	  "Seconds spent by all discards, Linux 4.18 and later. "
	  "Slow discards can stall writes on some SSDs." },
	{ "node_disk_flush_requests_total", C, "device",
	  "Cache flushes completed, Linux 5.5 and later. "
	  "Every fsync costs one, and many of them slow databases down." },
	{ "node_disk_flush_requests_time_seconds_total", C, "device",
	  "Seconds spent by all cache flushes, Linux 5.5 and later." },

	/* proc/net/dev */
	{ "node_network_receive_bytes_total", C, "device",
	  "Bytes received by the interface. "
	  "The inbound traffic, to compare with the link's capacity." },
	{ "node_network_receive_packets_total", C, "device",
	  "Packets received by the interface. "
	  "Bytes per packet tell bulk transfers from small requests." },
	{ "node_network_receive_errs_total", C, "device",
	  "Receive errors (bad checksum, frame or length) on the interface. "
	  "Above zero points at a bad cable, port or driver." },
	{ "node_network_receive_drop_total", C, "device",
	  "Received packets dropped before the kernel took them, mostly "
	  "because the receive ring was full. "
	  "A saturation signal of the interface or of the CPU serving it." },
	{ "node_network_receive_fifo_total", C, "device",
	  "Receive FIFO overruns: the card had no room for a packet." },
	{ "node_network_receive_frame_total", C, "device",
	  "Received frames with alignment errors." },
	{ "node_network_receive_compressed_total", C, "device",
	  "Compressed packets received (PPP and similar links)." },
	{ "node_network_receive_multicast_total", C, "device",
	  "Multicast packets received." },
	{ "node_network_transmit_bytes_total", C, "device",
	  "Bytes sent by the interface. "
	  "The outbound traffic, to compare with the link's capacity." },
	{ "node_network_transmit_packets_total", C, "device",
	  "Packets sent by the interface." },
	{ "node_network_transmit_errs_total", C, "device",
	  "Transmit errors on the interface." },
	{ "node_network_transmit_drop_total", C, "device",
	  "Packets dropped on transmit, mostly because a queue was full: the "
	  "link or its queueing discipline is saturated." },
	{ "node_network_transmit_fifo_total", C, "device",
	  "Transmit FIFO errors of the interface." },
	{ "node_network_transmit_colls_total", C, "device",
	  "Collisions while sending, on half-duplex links only. "
	  "Above zero on a modern network means a duplex mismatch." },
	{ "node_network_transmit_carrier_total", C, "device",
	  "Carrier losses while sending: the link went down or flapped." },
	{ "node_network_transmit_compressed_total", C, "device",
	  "Compressed packets sent (PPP and similar links)." },

	/* proc/mounts, statvfs */
	{ "node_filesystem_size_bytes", G, "device fstype mountpoint",
	  "Size of the filesystem. "
	  "With the available bytes, how full it is." },
	{ "node_filesystem_free_bytes", G, "device fstype mountpoint",
	  "Free space, including the blocks reserved for root." },
	{ "node_filesystem_avail_bytes", G, "device fstype mountpoint",
	  "Space unprivileged users can still write. "
	  "Predicting when it reaches zero warns before a disk-full "
	  "outage." },
	{ "node_filesystem_files", G, "device fstype mountpoint",
	  "Inodes of the filesystem." },
	{ "node_filesystem_files_free", G, "device fstype mountpoint",
	  "Free inodes. "
	  "Many small files can run out of inodes while space remains." },
	{ "node_filesystem_readonly", G, "device fstype mountpoint",
	  "1 when the filesystem is mounted read-only. "
	  "A filesystem that turned read-only after I/O errors refuses every "
	  "write." },
	{ "node_filesystem_device_error", G, "device fstype mountpoint",
	  "1 when the sizes of the mount point could not be read, which is "
	  "why they are missing." },

	/* proc/sys/fs/file-nr */
	{ "node_filefd_allocated", G, "",
	  "File handles allocated on the whole system. "
	  "Near the maximum every open and accept fails." },
	{ "node_filefd_maximum", G, "",
	  "The system's limit of file handles (fs.file-max)." },

	/* proc/net/tcp, tcp6 */
	{ "monitord_tcp_sessions", G, "port",
	  "Established TCP connections on a listening local port, IPv4 and "
	  "IPv6 together: the clients connected to the service on that port "
	  "at once. "
	  "A service's simultaneous sessions, without asking the service." },

	/* proc/[pid] */
	{ "process_count", G, "process",
	  "Processes in the group. "
	  "Zero means the application is not running; a jump means it "
	  "crash-loops or forks per request." },
	{ "process_cpu_seconds_total", C, "process",
	  "CPU time, user and system, used by the group's processes, kept "
	  "from falling when one exits. "
	  "Its rate is how many CPUs the application keeps busy: its CPU "
	  "utilisation." },
	{ "process_resident_memory_bytes", G, "process",
	  "Resident memory of the group's processes, summed (shared pages "
	  "count in each). "
	  "The application's memory utilisation, to compare with the "
	  "machine's memory." },
	{ "process_virtual_memory_bytes", G, "process",
	  "Virtual memory of the group's processes, summed. "
	  "A steady climb with a flat resident size points at an address "
	  "space leak." },
	{ "process_threads", G, "process",
	  "Threads of the group's processes. "
	  "Steady growth means a thread leak; a flat ceiling, a full pool." },
	{ "process_open_fds", G, "process",
	  "Open file descriptors of the group's processes, sockets included. "
	  "Present only when monitord may read every process's descriptors "
	  "(root or the same user)." },
	{ "process_max_fds", G, "process",
	  "Soft limits on open files of the group's processes, summed, so that "
	  "open over max is the share in use." },
	{ "process_worst_fd_ratio", G, "process",
	  "The highest ratio of open descriptors to the limit among the "
	  "group's processes. "
	  "At 1 that process can no longer open a file or accept a "
	  "connection." },
	{ "process_start_time_seconds", G, "process",
	  "Start time of the group's oldest process, as Unix time. "
	  "A recent value means the application restarted." },
	{ "process_context_switches_total", C, "ctxswitchtype process",
	  "Context switches of the main threads of the group's processes: "
	  "voluntary (waiting for I/O or a lock) and nonvoluntary (preempted, "
	  "a sign of CPU saturation)." },
	{ "process_read_bytes_total", C, "process",
	  "Bytes the group's processes had read from storage. "
	  "Present when monitord may read their I/O counters (root or the "
	  "same user)." },
	{ "process_write_bytes_total", C, "process",
	  "Bytes the group's processes had written to storage. "
	  "Present when monitord may read their I/O counters (root or the "
	  "same user)." },
	{ NULL, 0, NULL, NULL },
};

const struct metric_def *
proc_metric_find(const char *name)
{
	size_t i;

	for (i = 0; proc_metrics[i].name != NULL; i++)
		if (strcmp(proc_metrics[i].name, name) == 0)
			return &proc_metrics[i];
	return NULL;
}

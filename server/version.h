/* The service's version, reported by --version, GET / and build_info. */
#ifndef GRADGUARD_VERSION_H
#define GRADGUARD_VERSION_H

#define GRADGUARD_VERSION "0.1.0"

#endif

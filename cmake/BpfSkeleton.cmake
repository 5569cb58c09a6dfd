# bpf_skeleton(<name>)
#   Compiles bpf/<name>.bpf.c with clang -target bpf against the checked-in
#   vmlinux/<arch>/vmlinux.h and generates <name>.skel.h with bpftool in the
#   build tree. Adds the interface target <name>_skel that carries the include
#   directory of the generated header.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(SRVMON_BPF_ARCH_x86_64 x86)
set(SRVMON_BPF_ARCH_aarch64 arm64)
set(SRVMON_BPF_ARCH ${SRVMON_BPF_ARCH_${CMAKE_SYSTEM_PROCESSOR}})
if(NOT SRVMON_BPF_ARCH)
	message(FATAL_ERROR "no BPF target arch for ${CMAKE_SYSTEM_PROCESSOR}")
endif()
set(SRVMON_VMLINUX_DIR ${PROJECT_SOURCE_DIR}/vmlinux/${CMAKE_SYSTEM_PROCESSOR})
if(NOT EXISTS ${SRVMON_VMLINUX_DIR}/vmlinux.h)
	message(FATAL_ERROR "missing ${SRVMON_VMLINUX_DIR}/vmlinux.h (see vmlinux/README.md)")
endif()

function(bpf_skeleton name)
	set(src ${PROJECT_SOURCE_DIR}/bpf/${name}.bpf.c)
	set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
	set(skel ${CMAKE_CURRENT_BINARY_DIR}/bpf/${name}.skel.h)
	file(GLOB bpf_headers ${PROJECT_SOURCE_DIR}/bpf/*.bpf.h ${PROJECT_SOURCE_DIR}/include/*.h)
	add_custom_command(
		OUTPUT ${obj}
		COMMAND ${BPF_CLANG} -g -O2 -Wall -Werror -target bpf
			-D__TARGET_ARCH_${SRVMON_BPF_ARCH}
			-I${SRVMON_VMLINUX_DIR} -I${PROJECT_SOURCE_DIR}/include
			-I${PROJECT_SOURCE_DIR}/bpf
			-c ${src} -o ${obj}
		DEPENDS ${src} ${bpf_headers}
		COMMENT "BPF ${name}.bpf.c"
		VERBATIM)
	add_custom_command(
		OUTPUT ${skel}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/bpf
		COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
		DEPENDS ${obj}
		COMMENT "skeleton ${name}.skel.h"
		VERBATIM)
	add_custom_target(${name}_skel_gen DEPENDS ${skel})
	add_library(${name}_skel INTERFACE)
	add_dependencies(${name}_skel ${name}_skel_gen)
	target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR})
endfunction()

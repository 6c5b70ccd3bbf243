"""Storage pools and volumes for :class:`~.driver.LibvirtDriver`.

Plain functions over a connection. Each checks what it can before calling
libvirt (names, sizes, free space, volumes in use) so that the usual refusals
are precise engine errors, and turns any libvirt error into an engine error.
"""

from __future__ import annotations

import re

import libvirt

from engine.drivers.libvirt.mapping import is_error, translate_error, translating
from engine.drivers.libvirt.xmlbuild import disk_paths, parse, volume_xml
from engine.drivers.specs import PoolInfo, VolumeInfo
from engine.errors import (
    AlreadyExists,
    CapacityUnavailable,
    InvalidInput,
    InvalidTransition,
    NotFound,
)

# Volume names become file names in directory pools: no separators, no
# leading dot (hidden files, "." and "..").
_VOLUME_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


def check_volume_name(name: str) -> None:
    """Refuse a volume name that is not a safe file name.

    :param name: the proposed name.
    :raises InvalidInput: when it is empty, too long, or has other characters
        than letters, digits, ``.``, ``_`` and ``-``, or starts with a dot or dash.
    """
    if not _VOLUME_NAME_RE.match(name):
        raise InvalidInput("invalid volume name", field="name", reason="format")


def check_capacity(capacity_bytes: int) -> None:
    """Refuse a volume size that is not positive.

    :param capacity_bytes: the proposed size.
    :raises InvalidInput: when it is zero or negative.
    """
    if capacity_bytes < 1:
        raise InvalidInput(
            "volume capacity must be positive", field="capacity_bytes", reason="range", minimum=1
        )


def lookup_pool(conn: libvirt.virConnect, name: str) -> libvirt.virStoragePool:
    """Return an active pool by name.

    :param conn: the host connection.
    :param name: the pool's name.
    :raises NotFound: when the host has no such pool, or it is not active.
    """
    with translating("find the storage pool"):
        pool = conn.storagePoolLookupByName(name)
        if not pool.isActive():
            raise NotFound("storage pool not found", subject="storage_pool")
        return pool


def find_volume(pool: libvirt.virStoragePool, name: str) -> libvirt.virStorageVol | None:
    """Return a volume of ``pool`` by name, or ``None`` if there is none.

    :param pool: the pool.
    :param name: the volume's name.
    """
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError as exc:
        if is_error(exc, libvirt.VIR_ERR_NO_STORAGE_VOL):
            return None
        raise translate_error(exc, "find the volume") from exc


def lookup_volume(pool: libvirt.virStoragePool, name: str) -> libvirt.virStorageVol:
    """Return a volume of ``pool`` by name.

    :param pool: the pool.
    :param name: the volume's name.
    :raises NotFound: when there is no such volume.
    """
    volume = find_volume(pool, name)
    if volume is None:
        raise NotFound("volume not found", subject="volume")
    return volume


def require_absent(pool: libvirt.virStoragePool, name: str) -> None:
    """Refuse a volume name that is taken in ``pool``.

    :param pool: the pool.
    :param name: the proposed name.
    :raises AlreadyExists: when a volume has that name.
    """
    if find_volume(pool, name) is not None:
        raise AlreadyExists("a volume with this name already exists", name=name, subject="volume")


def require_room(pool: libvirt.virStoragePool, needed_bytes: int) -> None:
    """Refuse to place ``needed_bytes`` more in a pool that lacks the space.

    :param pool: the pool.
    :param needed_bytes: the space the operation may take.
    :raises CapacityUnavailable: when the pool has less available.
    """
    with translating("read the storage pool"):
        available = int(pool.info()[3])
    if needed_bytes > available:
        raise CapacityUnavailable("the storage pool has not enough free space")


def pool_info(pool: libvirt.virStoragePool) -> PoolInfo:
    """Describe a pool.

    :param pool: the pool.
    """
    _state, capacity, allocation, available = pool.info()
    return PoolInfo(pool.name(), int(capacity), int(allocation), int(available))


def volume_info(pool_name: str, volume: libvirt.virStorageVol) -> VolumeInfo:
    """Describe a volume.

    :param pool_name: the name of its pool.
    :param volume: the volume.
    """
    _type, capacity, allocation = volume.info()
    return VolumeInfo(pool_name, volume.name(), volume.path(), int(capacity), int(allocation))


def volume_users(conn: libvirt.virConnect, path: str) -> list[str]:
    """Return the names of the domains whose disks use ``path``.

    Both the running and the persistent definition count: a stopped guest
    still expects its disk to be there when it boots.

    :param conn: the host connection.
    :param path: a volume path.
    """
    users = []
    for dom in conn.listAllDomains(0):
        documents = [dom.XMLDesc(0)]
        if dom.isActive() and dom.isPersistent():
            documents.append(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        if any(path in disk_paths(parse(document)) for document in documents):
            users.append(dom.name())
    return users


def list_pools(conn: libvirt.virConnect) -> list[PoolInfo]:
    """Return the active pools of a host, by name.

    :param conn: the host connection.
    """
    with translating("list the storage pools"):
        pools = conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
        return sorted((pool_info(pool) for pool in pools), key=lambda info: info.name)


def list_volumes(conn: libvirt.virConnect, pool: str) -> list[VolumeInfo]:
    """Return the volumes of a pool, by name.

    :param conn: the host connection.
    :param pool: the pool's name.
    """
    lv_pool = lookup_pool(conn, pool)
    with translating("list the volumes"):
        volumes = [volume_info(pool, volume) for volume in lv_pool.listAllVolumes(0)]
    return sorted(volumes, key=lambda info: info.name)


def create_volume(
    conn: libvirt.virConnect, pool: str, name: str, capacity_bytes: int
) -> VolumeInfo:
    """Create an empty sparse raw volume.

    :param conn: the host connection.
    :param pool: the pool's name.
    :param name: the volume's name.
    :param capacity_bytes: its size.
    :raises AlreadyExists: when the name is taken.
    :raises CapacityUnavailable: when the pool has less space available.
    """
    check_volume_name(name)
    check_capacity(capacity_bytes)
    lv_pool = lookup_pool(conn, pool)
    require_absent(lv_pool, name)
    require_room(lv_pool, capacity_bytes)
    with translating("create the volume"):
        return volume_info(pool, lv_pool.createXML(volume_xml(name, capacity_bytes), 0))


def resize_volume(
    conn: libvirt.virConnect,
    pool: str,
    name: str,
    capacity_bytes: int,
    *,
    recreate_if_unsupported: bool = False,
) -> VolumeInfo:
    """Grow a volume.

    :param conn: the host connection.
    :param pool: the pool's name.
    :param name: the volume's name.
    :param capacity_bytes: the new size, not smaller than the current one.
    :param recreate_if_unsupported: when the storage driver cannot resize,
        delete and recreate the volume at the new size. Only for libvirt's
        test driver, whose volumes hold no data.
    :raises InvalidInput: when asked to shrink.
    :raises CapacityUnavailable: when the pool lacks the extra space.
    """
    check_capacity(capacity_bytes)
    lv_pool = lookup_pool(conn, pool)
    volume = lookup_volume(lv_pool, name)
    with translating("read the volume"):
        current = volume_info(pool, volume)
    if capacity_bytes < current.capacity_bytes:
        raise InvalidInput("a volume can only grow", field="capacity_bytes", reason="grow")
    if capacity_bytes == current.capacity_bytes:
        return current
    require_room(lv_pool, capacity_bytes - current.capacity_bytes)
    try:
        volume.resize(capacity_bytes, 0)
    except libvirt.libvirtError as exc:
        if not (recreate_if_unsupported and is_error(exc, libvirt.VIR_ERR_NO_SUPPORT)):
            raise translate_error(exc, "resize the volume") from exc
        with translating("resize the volume"):
            volume.delete(0)
            volume = lv_pool.createXML(volume_xml(name, capacity_bytes), 0)
    with translating("read the volume"):
        return volume_info(pool, volume)


def delete_volume(conn: libvirt.virConnect, pool: str, name: str) -> bool:
    """Delete a volume that no guest uses.

    :param conn: the host connection.
    :param pool: the pool's name.
    :param name: the volume's name.
    :returns: ``False`` if there was no such volume.
    :raises InvalidTransition: while a guest on the host uses it.
    """
    volume = find_volume(lookup_pool(conn, pool), name)
    if volume is None:
        return False
    with translating("delete the volume"):
        if volume_users(conn, volume.path()):
            raise InvalidTransition(
                "the volume is attached to a guest; detach it first",
                subject="volume",
                reason="attached",
                other="guest",
            )
        volume.delete(0)
    return True


def _volume_by_path(conn: libvirt.virConnect, path: str) -> libvirt.virStorageVol | None:
    try:
        return conn.storageVolLookupByPath(path)
    except libvirt.libvirtError as exc:
        if not is_error(exc, libvirt.VIR_ERR_NO_STORAGE_VOL):
            raise translate_error(exc, "find the disk to copy") from exc
        return None


def _refresh_pools_of(conn: libvirt.virConnect, path: str) -> bool:
    """Refresh the active directory pools whose directory holds ``path``; True if any.

    libvirt knows a directory pool's files as of its last refresh, and an
    image fetched from an image list is written there afterwards
    (engine.federation.image_fetch).
    """
    directory = path.rsplit("/", 1)[0]
    refreshed = False
    with translating("refresh the storage pools"):
        for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            target = parse(pool.XMLDesc(0)).findtext("target/path")
            if target is not None and target.rstrip("/") == directory:
                pool.refresh(0)
                refreshed = True
    return refreshed


def clone_volume(conn: libvirt.virConnect, source_path: str, pool: str, name: str) -> VolumeInfo:
    """Copy the volume at ``source_path`` into a new volume of ``pool``.

    :param conn: the host connection.
    :param source_path: path of the volume to copy.
    :param pool: the target pool's name.
    :param name: the new volume's name.
    :raises InvalidInput: when ``source_path`` is not a volume of any pool.
    :raises AlreadyExists: when the name is taken.
    :raises CapacityUnavailable: when the pool lacks the space.
    """
    check_volume_name(name)
    source = _volume_by_path(conn, source_path)
    if source is None and _refresh_pools_of(conn, source_path):
        source = _volume_by_path(conn, source_path)
    if source is None:
        raise InvalidInput(
            "the disk to copy is not a volume of a storage pool on the host",
            field="path",
            reason="unknown",
        )
    lv_pool = lookup_pool(conn, pool)
    require_absent(lv_pool, name)
    with translating("read the disk to copy"):
        capacity = int(source.info()[1])
    require_room(lv_pool, capacity)
    with translating("copy the volume"):
        return volume_info(pool, lv_pool.createXMLFrom(volume_xml(name, capacity), source, 0))

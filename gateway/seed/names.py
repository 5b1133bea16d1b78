"""Words the demo programme is made of: people's names, training vocabulary, partner names.

People's names follow the naming customs of a few large ethnic groups; which custom a
participant's name follows depends on the province they live in (see ``STYLES_BY_PROVINCE``).
Platforms and payment partners are invented names, so the demo never speaks for a real company.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.enums import PaymentAccountKind


@dataclass(frozen=True, slots=True)
class NameStyle:
    """One naming custom: given names by sex, and the family names (or clan names) added."""

    male: tuple[str, ...]
    female: tuple[str, ...]
    family_male: tuple[str, ...]
    family_female: tuple[str, ...]
    # Balinese names open with a birth-order title ("I Wayan", "Ni Made"); other customs none.
    male_titles: tuple[str, ...] = ()
    female_titles: tuple[str, ...] = ()


def _words(text: str) -> tuple[str, ...]:
    """A compact literal: names separated by commas."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


JAWA: Final = NameStyle(
    male=_words(
        "Agus, Bambang, Budi, Joko, Slamet, Sugeng, Wahyu, Eko, Dwi, Tri, Hadi, Heru, Bayu, "
        "Aris, Yoga, Dimas, Galih, Rudi, Teguh, Wawan, Yudi, Anton, Fajar, Rizky, Arif, Adi, "
        "Puji, Sigit, Bagus, Danang, Ilham, Nanang, Supri, Tono, Yanto, Hari, Purwanto"
    ),
    female=_words(
        "Sri, Dewi, Endang, Rini, Tri, Wulan, Ayu, Putri, Dyah, Retno, Sari, Nur, Yuni, "
        "Siti, Wahyuni, Lina, Eka, Indah, Ratna, Kartini, Sulastri, Suci, Anik, Ning, Tutik"
    ),
    family_male=_words(
        "Santoso, Susanto, Wibowo, Nugroho, Prasetyo, Setiawan, Kurniawan, Purnomo, Hartono, "
        "Wijaya, Saputra, Pratama, Hidayat, Utomo, Suryadi, Sutrisno, Rahardjo, Widodo, "
        "Handoko, Kusuma, Prakoso, Sulistyo, Pamungkas, Setyawan, Wicaksono, Nugraha"
    ),
    family_female=_words(
        "Lestari, Rahayu, Wulandari, Handayani, Kusumawati, Puspitasari, Susanti, Widyastuti, "
        "Astuti, Ningsih, Sulistyowati, Rahmawati, Pertiwi, Anggraeni, Setyaningsih, Utami"
    ),
)

SUNDA: Final = NameStyle(
    male=_words(
        "Asep, Dadang, Ujang, Cecep, Dede, Iwan, Yayan, Deden, Encep, Ade, Usep, Jajang, "
        "Dodi, Agus, Rudi, Aep, Endang, Hendra, Rizal, Yusuf, Rian, Gilang, Fikri, Ridwan"
    ),
    female=_words(
        "Euis, Neneng, Iis, Enung, Lilis, Nining, Imas, Cucu, Yanti, Rina, Tuti, Dewi, "
        "Nenden, Ai, Popon, Rika, Siti, Nurul, Intan, Wida, Yeni, Teti"
    ),
    family_male=_words(
        "Sunarya, Hermawan, Permana, Sukmana, Suryana, Kusnadi, Hidayat, Ruhiyat, Sopandi, "
        "Supriatna, Rukmana, Saepudin, Nurhadi, Sumantri, Gumilar, Ramdani, Firmansyah"
    ),
    family_female=_words(
        "Rahmawati, Nurhayati, Kartika, Komalasari, Sumiati, Maryati, Susilawati, Sukmawati, "
        "Herawati, Nurjanah, Permatasari, Rosmiati, Fitriani"
    ),
)

BATAK: Final = NameStyle(
    male=_words(
        "Togar, Hotman, Parlindungan, Daniel, Jonathan, Roy, Samuel, Martin, Benny, Hendra, "
        "Ferdinand, Sahat, Bonar, Poltak, Tigor, Marihot, Dedy, Erwin, Yosua, Andreas, Frans"
    ),
    female=_words(
        "Rotua, Tiurma, Lasma, Rosmawati, Maria, Sarah, Yohana, Debora, Christina, Mega, "
        "Rina, Friska, Novita, Ruth, Lestari, Dameria, Hotnida, Rugun, Sondang, Tiamin"
    ),
    family_male=_words(
        "Siregar, Nasution, Simanjuntak, Hutapea, Sitompul, Lubis, Harahap, Sinaga, "
        "Situmorang, Panjaitan, Pardede, Tampubolon, Simatupang, Manurung, Sihombing, "
        "Hutagalung, Napitupulu, Siahaan, Silalahi, Pasaribu, Sembiring, Ginting, Tarigan, "
        "Purba, Saragih, Damanik, Marpaung, Sitorus, Gultom, Butarbutar, Hasibuan, Pohan"
    ),
    family_female=(),  # a Batak woman carries her clan name too: the male list is used
)

MINANG: Final = NameStyle(
    male=_words(
        "Rizal, Syafrizal, Yusrizal, Hendri, Afrizal, Zulkifli, Irwan, Fadli, Rahmat, "
        "Azwar, Efendi, Andri, Jufri, Yulianto, Nofrizal, Dasril, Erman, Rusli, Ferdi"
    ),
    female=_words(
        "Yusnidar, Rosmaniar, Nurhasanah, Elvi, Yenni, Desi, Fitri, Rahmi, Mardiana, Nelly, "
        "Ernawati, Syafitri, Yusniar, Elfira, Rahmadani, Nurjannah, Yulia, Rosna"
    ),
    family_male=_words(
        "Chaniago, Piliang, Tanjung, Koto, Sikumbang, Jambak, Guci, Melayu, Putra, Syahputra"
    ),
    family_female=_words("Chaniago, Piliang, Tanjung, Koto, Sikumbang, Putri, Yanti, Wati"),
)

BUGIS: Final = NameStyle(
    male=_words(
        "Muhammad, Andi, Baso, Syamsul, Arifin, Rusdi, Hasanuddin, Amiruddin, Nurdin, "
        "Syahrul, Ilham, Akbar, Takdir, Irfan, Jusman, Ikhsan, Asdar, Sukri, Ansar, Rahmat"
    ),
    female=_words(
        "Andi, Nurul, Sitti, Hasnah, Hasniati, Sumarni, Haslinda, Nurmala, Asriani, "
        "Fatmawati, Megawati, Nurhaedah, Rosdiana, Jumriati, Hikmah, Sartika"
    ),
    family_male=_words(
        "Rahman, Syamsuddin, Amir, Hamzah, Latief, Mallarangeng, Mattalitti, Makmur, Nur, "
        "Saleh, Said, Rasyid, Yunus, Ali, Anwar, Basri"
    ),
    family_female=_words(
        "Rahman, Amir, Hamzah, Latief, Nur, Saleh, Rasyid, Anwar, Hikmah, Nurhidayah, Aulia"
    ),
)

BALI: Final = NameStyle(
    male=_words(
        "Sudarsana, Suarnata, Artawan, Budiasa, Sukadana, Wirawan, Sudiarta, Gunawan, "
        "Mahendra, Adnyana, Sutama, Widiana, Suardana, Yasa, Darmawan, Parwata, Sanjaya"
    ),
    female=_words(
        "Sri Wahyuni, Ayu Lestari, Sukarini, Suwitri, Ariani, Wulandari, Sudiani, Astiti, "
        "Puspita Dewi, Kartini, Suarni, Sumiarti, Ayu Utami, Yuliantari, Juliani"
    ),
    family_male=(),
    family_female=(),
    male_titles=_words(
        "I Wayan, I Made, I Nyoman, I Ketut, I Putu, I Gede, I Kadek, I Komang, I Gusti Ngurah"
    ),
    female_titles=_words(
        "Ni Wayan, Ni Made, Ni Nyoman, Ni Ketut, Ni Putu, Ni Luh, Ni Kadek, Ni Komang"
    ),
)

MINAHASA: Final = NameStyle(
    male=_words(
        "Johanis, Stevanus, Ferdy, Jeffry, Rio, Alfrets, Hendrik, Meiky, Rivo, Frans, Novry, "
        "Jerry, Recky, Donny, Vicky, Marthen, Glenn, Steven"
    ),
    female=_words(
        "Grace, Meity, Debby, Natalia, Stefani, Christy, Vina, Olivia, Yuliana, Marlina, "
        "Jenny, Feibe, Inggrid, Vivi, Sisca, Lidya"
    ),
    family_male=_words(
        "Wowor, Sondakh, Rumondor, Tumbelaka, Pangemanan, Mandagi, Lumenta, Sumampouw, "
        "Kaunang, Lengkong, Manoppo, Rondonuwu, Tumiwa, Walangitan, Wenas, Supit, Rompas, "
        "Runtuwene, Mokoginta, Paputungan"
    ),
    family_female=(),
)

# Eastern Indonesia: mostly Christian given names, family names by region.
_EASTERN_MALE: Final = _words(
    "Yohanis, Markus, Agustinus, Yakobus, Paulus, Petrus, Demianus, Yonas, Abraham, Elias, "
    "Yulius, Otto, Nikolaus, Simon, Matias, Lukas, Filipus, Melkias"
)
_EASTERN_FEMALE: Final = _words(
    "Yuliana, Maria, Ester, Fransina, Agustina, Marlina, Martha, Debora, Selvi, Magdalena, "
    "Yosina, Elisabeth, Ursula, Veronika, Adolfina, Naomi"
)
NUSA_TENGGARA: Final = NameStyle(
    male=_EASTERN_MALE,
    female=_EASTERN_FEMALE,
    family_male=_words(
        "Fernandez, Da Costa, Mbete, Lado, Tefa, Nenobais, Ndun, Manafe, Bria, Seran, "
        "Nahak, Lamablawa, Kopong, Parera, Ratu, Bani, Lay, Haning"
    ),
    family_female=(),
)
MALUKU: Final = NameStyle(
    male=_EASTERN_MALE,
    female=_EASTERN_FEMALE,
    family_male=_words(
        "Latuconsina, Tuhumury, Matulessy, Pattiasina, Tahitu, Leimena, Sahetapy, Pattinama, "
        "Lewerissa, Siahaya, Tuanakotta, Wattimena, Ralahalu, Kastanya, Sopacua"
    ),
    family_female=(),
)
PAPUA: Final = NameStyle(
    male=_EASTERN_MALE,
    female=_EASTERN_FEMALE,
    family_male=_words(
        "Wenda, Tabuni, Wonda, Kogoya, Yikwa, Rumbiak, Mansawan, Ayomi, Kaisiepo, Wanimbo, "
        "Karubaba, Yoku, Rumbewas, Mandowen, Krey, Sawaki, Yarangga, Wakerkwa"
    ),
    family_female=(),
)

MELAYU: Final = NameStyle(
    male=_words(
        "Muhammad, Ahmad, Rizky, Fauzi, Hendra, Syahrial, Zulkarnain, Irfan, Firman, Yusuf, "
        "Hamdan, Ridho, Reza, Taufik, Iqbal, Farhan, Hafiz, Dedi, Imam, Aditya, Fadil, Rahmad"
    ),
    female=_words(
        "Nurul, Siti, Fitri, Aisyah, Nabila, Rahma, Annisa, Zahra, Yuliana, Novi, Mega, "
        "Desi, Ratna, Intan, Sinta, Fatimah, Khairunnisa, Dinda, Salsabila, Nadia, Melati"
    ),
    family_male=_words(
        "Saputra, Pratama, Ramadhan, Hidayat, Firmansyah, Kurniawan, Hakim, Rahman, "
        "Syahputra, Maulana, Hasan, Nugraha, Akbar, Permana, Effendi, Syahrul, Iskandar"
    ),
    family_female=_words(
        "Safitri, Ramadhani, Maharani, Putri, Aulia, Anggraini, Oktaviani, Rahmadani, "
        "Fitriani, Amelia, Novitasari, Azzahra, Wahyuni, Agustina, Lestari"
    ),
)

# Which customs are common where; weights per province code (the rest of the country: MELAYU
# with a share of Javanese, who live in every province).
STYLES_BY_PROVINCE: Final[dict[str, tuple[tuple[NameStyle, int], ...]]] = {
    "12": ((BATAK, 6), (MELAYU, 2), (JAWA, 2)),
    "13": ((MINANG, 8), (MELAYU, 1), (JAWA, 1)),
    "31": ((JAWA, 4), (SUNDA, 2), (MELAYU, 2), (BATAK, 1), (MINANG, 1)),
    "32": ((SUNDA, 8), (JAWA, 2)),
    "33": ((JAWA, 1),),
    "34": ((JAWA, 1),),
    "35": ((JAWA, 1),),
    "36": ((SUNDA, 5), (JAWA, 4), (MELAYU, 1)),
    "51": ((BALI, 9), (JAWA, 1)),
    "53": ((NUSA_TENGGARA, 9), (MELAYU, 1)),
    "71": ((MINAHASA, 8), (MELAYU, 2)),
    "73": ((BUGIS, 9), (JAWA, 1)),
    "74": ((BUGIS, 6), (MELAYU, 3), (JAWA, 1)),
    "76": ((BUGIS, 9), (JAWA, 1)),
    "81": ((MALUKU, 7), (MELAYU, 3)),
    "82": ((MALUKU, 4), (MELAYU, 6)),
    "91": ((PAPUA, 6), (MALUKU, 1), (JAWA, 2), (BUGIS, 1)),
    "94": ((PAPUA, 7), (JAWA, 2), (BUGIS, 1)),
}
DEFAULT_STYLES: Final[tuple[tuple[NameStyle, int], ...]] = ((MELAYU, 7), (JAWA, 3))

# Mobile number prefixes of Indonesian operators (after the leading 0).
MOBILE_PREFIXES: Final = _words(
    "811, 812, 813, 821, 822, 823, 852, 853, 851, 814, 815, 816, 855, 856, 857, 858, 817, "
    "818, 819, 859, 877, 878, 895, 896, 897, 898, 899, 881, 882, 883, 887, 888, 889, 831, 838"
)

# -- Trainings ---------------------------------------------------------------------------------

PYTHON_FOR_BEGINNERS: Final = "Pemrograman Python untuk Pemula"
PYTHON_CATEGORY: Final = "Teknologi Informasi"

# Category -> topics (noun phrases a title pattern wraps).
TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "Teknologi Informasi": _words(
        "Pemrograman Python, Pemrograman Java, Pengembangan Aplikasi Android, "
        "Pengembangan Web dengan PHP, Basis Data MySQL, Microsoft Excel, "
        "Microsoft Word dan PowerPoint, Jaringan Komputer, Keamanan Siber, Analisis Data, "
        "Administrasi Server Linux, Komputasi Awan, Pemrograman JavaScript, "
        "Pengujian Perangkat Lunak, Teknisi Komputer, Visualisasi Data"
    ),
    "Pemasaran": _words(
        "Digital Marketing, Pemasaran Media Sosial, Copywriting, Search Engine Optimization, "
        "Iklan Facebook dan Instagram, Teknik Penjualan, Pemasaran Produk Lokal, "
        "Content Marketing, Email Marketing, Riset Pasar, Branding Produk, Layanan Pelanggan, "
        "Telemarketing, Berjualan di Marketplace, Fotografi Produk, Pemasaran Afiliasi"
    ),
    "Keuangan": _words(
        "Akuntansi Dasar, Pembukuan Usaha Kecil, Perpajakan, Laporan Keuangan, "
        "Perencanaan Keuangan Pribadi, Analisis Kredit, Investasi Reksa Dana, "
        "Akuntansi dengan Excel, Pengelolaan Kas, Administrasi Perbankan, Asuransi, "
        "Audit Internal, Manajemen Risiko Keuangan, Penyusunan Anggaran, Aplikasi Akuntansi, "
        "Keuangan Syariah"
    ),
    "Bahasa": _words(
        "Bahasa Inggris Percakapan, Bahasa Inggris Bisnis, Persiapan TOEFL, Bahasa Jepang, "
        "Bahasa Korea, Bahasa Mandarin, Bahasa Arab, Bahasa Jerman, "
        "Bahasa Inggris Perhotelan, Bahasa Indonesia Bisnis, Bahasa Inggris Wawancara Kerja, "
        "Bahasa Belanda, Bahasa Prancis, Bahasa Inggris Maritim, Bahasa Isyarat Indonesia, "
        "Penulisan Email Bisnis Berbahasa Inggris"
    ),
    "Kuliner": _words(
        "Membuat Kue Kering, Tata Boga, Barista, Membuat Roti, Masakan Nusantara, "
        "Frozen Food Rumahan, Katering Rumahan, Minuman Kekinian, Dekorasi Kue, "
        "Masakan Minang, Sambal Kemasan, Pastry, Makanan Sehat, Keamanan Pangan, "
        "Manajemen Dapur Restoran, Kopi Nusantara"
    ),
    "Gaya Hidup": _words(
        "Tata Rias Wajah, Menjahit Busana, Fotografi, Tata Rambut, Merangkai Bunga, "
        "Kerajinan Tangan, Desain Busana Muslim, Membatik, Perawatan Kecantikan, "
        "Senam Aerobik, Perawatan Hewan Peliharaan, Videografi, Sulam dan Bordir, "
        "Membuat Sabun Alami, Tata Rias Pengantin, Barbershop"
    ),
    "Manajemen": _words(
        "Manajemen Proyek, Manajemen Sumber Daya Manusia, Kepemimpinan, "
        "Manajemen Operasional, Manajemen Gudang dan Logistik, Administrasi Perkantoran, "
        "Kesekretariatan, Manajemen Rantai Pasok, Manajemen Mutu ISO 9001, Manajemen Waktu, "
        "Rekrutmen dan Seleksi, Manajemen Perhotelan, Manajemen Ritel, "
        "Keselamatan dan Kesehatan Kerja, Manajemen Acara, Negosiasi Bisnis"
    ),
    "Desain": _words(
        "Desain Grafis, Adobe Photoshop, Adobe Illustrator, Desain UI/UX, Animasi 2D, "
        "Desain Interior, Editing Video, Desain Logo, Ilustrasi Digital, Desain Kemasan, "
        "Desain dengan Canva, Motion Graphic, Pemodelan 3D, AutoCAD, Desain Presentasi, "
        "Tipografi"
    ),
    "Pertanian": _words(
        "Budidaya Hidroponik, Budidaya Ikan Lele, Budidaya Jamur Tiram, Pertanian Organik, "
        "Peternakan Ayam Petelur, Budidaya Sayuran, Pembuatan Pupuk Kompos, Budidaya Kopi, "
        "Budidaya Tanaman Hias, Peternakan Kambing, Budidaya Udang Vaname, Agribisnis, "
        "Pengolahan Hasil Pertanian, Budidaya Maggot BSF, Perikanan Bioflok, "
        "Budidaya Lebah Madu"
    ),
    "Kewirausahaan": _words(
        "Memulai Usaha Rumahan, Rencana Bisnis, Waralaba, Usaha Kuliner, Bisnis Online, "
        "Dropship dan Reseller, Legalitas Usaha, Permodalan Usaha Mikro, Ekspor Produk UMKM, "
        "Kewirausahaan Sosial, Manajemen Usaha Kecil, Bisnis Fesyen, Bisnis Laundry, "
        "Pengembangan Produk, Penetapan Harga Jual, Kemitraan Usaha"
    ),
    "Pengembangan Diri": _words(
        "Public Speaking, Persiapan Wawancara Kerja, Penulisan CV, Komunikasi Efektif, "
        "Kecerdasan Emosional, Berpikir Kritis, Kerja Sama Tim, Etika Profesi, "
        "Manajemen Stres, Menulis Kreatif, Produktivitas Kerja, Personal Branding, "
        "Presentasi Bisnis, Pemecahan Masalah, Literasi Digital, Pelayanan Prima"
    ),
    "Teknik dan Otomotif": _words(
        "Servis Sepeda Motor, Perawatan Mobil, Instalasi Listrik Rumah, Pengelasan, "
        "Servis AC, Servis Telepon Seluler, Teknik Pendingin, "
        "Perbaikan Elektronik Rumah Tangga, Instalasi Panel Surya, Operator Alat Berat, "
        "Perawatan Mesin Diesel, Plambing, Teknik Bangunan, Mengemudi Aman, "
        "Perawatan Kendaraan Listrik, Perbaikan Pompa Air"
    ),
}
CATEGORIES: Final[tuple[str, ...]] = tuple(TOPICS)

# How a topic becomes a title; "{t}" is the topic.
TITLE_PATTERNS: Final[tuple[str, ...]] = (
    "{t} untuk Pemula",
    "Dasar-Dasar {t}",
    "{t} Tingkat Lanjut",
    "Belajar {t} dari Nol",
    "Mahir {t} dalam 30 Hari",
    "{t} untuk UMKM",
    "Kelas Intensif {t}",
    "Praktik {t} di Dunia Kerja",
    "Panduan Lengkap {t}",
    "{t} bagi Pencari Kerja",
    "Sertifikasi Kompetensi {t}",
    "{t}: Teori dan Praktik",
    "Menjadi Ahli {t}",
    "Workshop {t}",
)

# A description is the opening sentence and one or two of the others.
DESCRIPTION_OPENINGS: Final[tuple[str, ...]] = (
    "Pelatihan ini membahas {t} secara bertahap, dari konsep dasar hingga penerapannya.",
    "Kelas {t} ini dirancang agar peserta langsung bisa mempraktikkan materinya.",
    "Peserta mempelajari {t} melalui video, latihan soal, dan studi kasus nyata.",
    "Program ini mengenalkan {t} kepada peserta yang ingin meningkatkan keterampilan kerja.",
)
DESCRIPTION_SENTENCES: Final[tuple[str, ...]] = (
    "Materi disusun oleh praktisi berpengalaman di bidang {c}.",
    "Cocok untuk pencari kerja, karyawan, maupun pelaku usaha.",
    "Di akhir kelas peserta mengerjakan proyek yang dapat dimasukkan ke portofolio.",
    "Setiap sesi ditutup dengan kuis untuk mengukur pemahaman peserta.",
    "Peserta yang lulus uji keterampilan memperoleh sertifikat elektronik.",
    "Tidak diperlukan pengalaman sebelumnya untuk mengikuti kelas ini.",
    "Instruktur mendampingi peserta melalui forum diskusi selama pelatihan berlangsung.",
)
REJECTION_REASONS: Final[tuple[str, ...]] = (
    "Silabus belum mencantumkan durasi setiap sesi dan bentuk uji keterampilan.",
    "Profil instruktur belum dilengkapi bukti kompetensi di bidang pelatihan.",
    "Harga tidak sebanding dengan jumlah jam pelatihan yang ditawarkan.",
)

# -- Partners ----------------------------------------------------------------------------------

PROGRAMME_MANAGEMENT_NAME: Final = "Manajemen Pelaksana Program Kartu Prakerja"

# Provider names: a pattern and two words; no two providers share the pair of words.
PROVIDER_PATTERNS: Final[tuple[str, ...]] = (
    "PT {a} {b} Edukasi",
    "Lembaga Pelatihan {a} {b}",
    "Akademi {a} {b}",
    "LPK {a} {b}",
    "Yayasan Pendidikan {a} {b}",
    "PT {a} {b} Kompetensi Indonesia",
    "Pusat Pelatihan Kerja {a} {b}",
    "Sekolah Keterampilan {a} {b}",
    "Kursus {a} {b}",
    "PT Edukasi {a} {b}",
)
PROVIDER_FIRST_WORDS: Final = _words(
    "Cipta, Bina, Karya, Mitra, Sinar, Cahaya, Prima, Global, Nusa, Mega, Tunas, Insan, "
    "Gemilang, Harapan, Sentosa, Amanah, Bakti, Widya, Dharma, Surya, Bumi, Pelita, "
    "Cendekia, Cakrawala, Kreasi, Inti, Mulia, Lentera, Tri, Daya"
)
PROVIDER_SECOND_WORDS: Final = _words(
    "Mandiri, Nusantara, Sejahtera, Utama, Persada, Abadi, Bersama, Sukses, Kreatif, "
    "Terampil, Unggul, Makmur, Indonesia, Raya, Muda, Digital, Kencana, Lestari, Madani, "
    "Berkarya"
)


@dataclass(frozen=True, slots=True)
class PlatformSource:
    code: str
    name: str
    market_share: int  # relative weight of the purchases made through it
    user_prefix: str  # how its user ids look


PLATFORMS: Final[tuple[PlatformSource, ...]] = (
    PlatformSource("DP-001", "BelajarTangkas", 24, "bt"),
    PlatformSource("DP-002", "KelasNusa", 20, "kn"),
    PlatformSource("DP-003", "Akar Ilmu Digital", 15, "ai"),
    PlatformSource("DP-004", "Pelita Kursus", 13, "pk"),
    PlatformSource("DP-005", "MahirDaring", 12, "md"),
    PlatformSource("DP-006", "Ruang Cendekia", 9, "rc"),
    PlatformSource("DP-007", "SerbaBisa Academy", 7, "sb"),
)


@dataclass(frozen=True, slots=True)
class PaymentPartnerSource:
    code: str
    name: str
    kind: PaymentAccountKind
    share: int  # relative weight of participants choosing it


PAYMENT_PARTNERS: Final[tuple[PaymentPartnerSource, ...]] = (
    PaymentPartnerSource("PP-001", "Bank Arta Nusantara", PaymentAccountKind.BANK, 15),
    PaymentPartnerSource("PP-002", "Bank Sentosa Raya", PaymentAccountKind.BANK, 10),
    PaymentPartnerSource("PP-003", "DompetWarga", PaymentAccountKind.EWALLET, 42),
    PaymentPartnerSource("PP-004", "SakuRupiah", PaymentAccountKind.EWALLET, 33),
)
